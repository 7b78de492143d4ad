"""smtpdbg's benchmarks: figures measured against swaks and bare smtplib (see benchmarks/README.md)."""
