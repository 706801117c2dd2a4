"""The claim lifecycle: intake, storage, reads and transitions."""
