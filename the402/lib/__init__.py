"""Framework-light helpers shared by every app (money, ids, env parsing, errors).

Nothing in here imports an app of this project.
"""
