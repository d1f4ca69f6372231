"""Analysis: every statistic the bulletin quotes, computed once from validated data."""
