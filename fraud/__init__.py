"""Fraud, waste and abuse: features, rules, models, scoring and evaluation."""
