"""Query: report specs, the expression language, planner and kernels (arrives with Insights)."""
