from hypothesis import HealthCheck
from hypothesis import settings

# A bounded number of examples per test; `pytest --hypothesis-profile=long`
# for a long run.
for name, examples in (("default", 60), ("long", 5000)):
    settings.register_profile(
        name,
        max_examples=examples,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
settings.load_profile("default")
