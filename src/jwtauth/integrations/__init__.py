"""Framework integrations: thin layers over the core that translate requests, responses and
errors. Each framework is an optional extra; the core never imports one."""
