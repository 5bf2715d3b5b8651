"""Tools for the analysts' workflow around the dbt project (not the pipeline):
`pr_check` builds and tests only what a branch changed, deferring the rest
to main's state."""
