"""The LightGBM tree evaluator now lives in the stage-neutral ``ecglens.trees`` (shared with the
measurement stage's reversal trees); this name is kept for the models that import it here."""

from ecglens.trees import Forest, parse_lightgbm_text

__all__ = ["Forest", "parse_lightgbm_text"]
