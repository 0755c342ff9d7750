"""Shipped model bundles (weights, cards, bundle.json). Data only; see ecglens.models.bundle."""
