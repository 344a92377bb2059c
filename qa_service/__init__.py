"""qa_service: hybrid retrieval, cited answers and the HTTP API over a reportqa index."""
