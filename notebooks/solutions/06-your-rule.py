# Solution of "Your own QA2 rule" (06-your-actor): the rule reads the run's lowest score,
# and an AQUA deciding by it takes the place of the sandbox's.
from drwlab.actors import AquaQA2


def three_bands(review):
    """Fail a run with a stage in error (0.33 or less), SemiPass one with a warning
    (up to 0.66), Pass the rest."""
    lowest = review.report.overall  # the lowest stage score of the run
    if lowest <= 0.33:
        return "Fail"
    if lowest <= 0.66:
        return "SemiPass"
    return "Pass"


sb.replace_actor("aqua-qa2", AquaQA2(sb.bus, sb.store, cache_dir=sb.caches["JAO"],
                                     cache_url=sb.urls["cache.JAO"], autopilot=three_bands))
print("AQUA QA2 now decides every run by", sb.qa2.autopilot.__name__)
