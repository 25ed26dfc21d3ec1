"""Code shared by every orderflow Lambda: config, errors, models, repositories, events, observability."""
