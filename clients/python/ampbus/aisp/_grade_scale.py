"""The scale the AISP grader grades on (sdk/aisp/grade_scale.ts): the tiers with their
thresholds and symbols, the weights of the four components, and what the counts count (the
binding symbols, the required blocks). The numbers are docs/grading.md's."""

GRADE_WEIGHTS = {"symbolDensity": 0.30, "quantifierPrecision": 0.25, "conditionCompleteness": 0.25, "evidence": 0.20}
TIER_THRESHOLDS = {"platinum": 0.75, "gold": 0.60, "silver": 0.40, "bronze": 0.20}
TIER_SYMBOLS = {"platinum": "◊⁺⁺", "gold": "◊⁺", "silver": "◊", "bronze": "◊⁻", "reject": "⊘"}
SYMBOL_DENSITY_SATURATION = 0.5
METHOD_WEIGHTS = {"formal-verification": 1.0, "test-execution": 0.85, "static-analysis": 0.7}
REQUIRED_BLOCKS = ("Ω", "Σ", "Γ", "Λ", "Ε")
BINDING_SYMBOLS = ("≜", "≔", "∀", "∃", "∃!", "λ", "⇒", "⇔", "→", "↔", "∈", "⊆", "∩", "∪", "∅")


def tier_of(score):
    """The best tier whose threshold the score reaches."""
    for tier, threshold in TIER_THRESHOLDS.items():
        if score >= threshold:
            return tier
    return "reject"
