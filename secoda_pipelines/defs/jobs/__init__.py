"""Write-back jobs: each plans first, reports the plan, and writes only when not a dry run."""
