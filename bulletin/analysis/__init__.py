"""The analysis stage: from the validated case table to plain result values."""
