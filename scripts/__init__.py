"""Implementation of the Invoke tasks in tasks.py: each module owns one concern."""
