from hypothesis import settings

# A bounded number of examples per test; `pytest --hypothesis-profile=long`
# for a long run.
settings.register_profile("default", max_examples=60, deadline=None)
settings.register_profile("long", max_examples=5000, deadline=None)
settings.load_profile("default")
