"""The worker process: threads that take job ids off the queue and run them."""
