"""Reading a /metrics exposition in tests: samples by name and labels."""

from __future__ import annotations

from dataclasses import dataclass

from prometheus_client.parser import text_string_to_metric_families


@dataclass(frozen=True, slots=True)
class Scrape:
    """Every sample of one scrape."""

    samples: tuple[tuple[str, dict[str, str], float], ...]
    families: frozenset[str]

    @classmethod
    def parse(cls, text: str) -> Scrape:
        samples: list[tuple[str, dict[str, str], float]] = []
        families: set[str] = set()
        for family in text_string_to_metric_families(text):
            families.add(family.name)
            samples.extend((s.name, dict(s.labels), float(s.value)) for s in family.samples)
        return cls(tuple(samples), frozenset(families))

    def value(self, name: str, **labels: str) -> float:
        """The sum of the samples named `name` whose labels include `labels` (0 if none)."""
        return sum(
            v
            for n, lab, v in self.samples
            if n == name and all(lab.get(k) == want for k, want in labels.items())
        )

    def has(self, name: str) -> bool:
        """Whether any sample has this exact name."""
        return any(n == name for n, _, _ in self.samples)

    def label_values(self, label: str) -> set[str]:
        """Every value a label takes across the scrape."""
        return {lab[label] for _, lab, _ in self.samples if label in lab}

    def names(self) -> set[str]:
        """Every sample name."""
        return {n for n, _, _ in self.samples}
