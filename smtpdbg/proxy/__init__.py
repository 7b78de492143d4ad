"""``smtpdbg proxy``: an intercepting SMTP proxy between a real client and a real server."""
