"""The `reportqa` command line: the composition root above ingest, qa_service and eval (see reportqa.cli)."""
