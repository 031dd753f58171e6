"""The fuzz suite's fixed Hypothesis profile: reproducible in CI, no timing flakiness."""

from __future__ import annotations

from hypothesis import HealthCheck, settings

#: examples per property; the whole suite stays within about a minute on two cores
FUZZ_EXAMPLES = 60

settings.register_profile(
    "ci", derandomize=True, max_examples=FUZZ_EXAMPLES, deadline=None, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
settings.load_profile("ci")
