"""`make bench`: performance tables. Speed targets live here, never in timed tests."""
