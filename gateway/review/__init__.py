"""The fraud reviewers' workbench: queue, claim detail, locks, decisions and second approvals."""
