"""Regenerate ``screenshots/proxy.svg``: the proxy app between a real smtplib client and the sandbox.

The client sends with STARTTLS on both legs and logs in; the proxy holds its RCPT (``intercept rcpt``), so the
picture shows both legs, TLS on each, the masked AUTH and a held command. Run
``python -m smtpdbg.proxy.screenshot [DIRECTORY]`` (``python -m smtpdbg.tui.screenshots`` runs it too).
"""

from __future__ import annotations

import asyncio
import smtplib
import ssl
import sys
import tempfile
import threading
from pathlib import Path


async def shoot(directory: str) -> str:
    from smtpdbg.proxy.app import ProxyApp
    from smtpdbg.proxy.cli import build_parser, configure
    from smtpdbg.proxy.server import Proxy
    from smtpdbg.sandbox import Sandbox, SandboxConfig

    with Sandbox(SandboxConfig()) as sandbox, tempfile.TemporaryDirectory(prefix="smtpdbg-shot-") as work:
        endpoints = sandbox.endpoints
        host, port = endpoints.smtp
        argv = ["--listen", "127.0.0.1:0", "--upstream", f"{host}:{port}", "--ca", endpoints.ca_path,
                "--ca-out", str(Path(work) / "proxy-ca.pem")]
        config, lhost, lport, ca_out = configure(build_parser().parse_args(argv), Path(work))
        proxy = Proxy(config, lhost, lport)
        address = proxy.start()
        try:
            app = ProxyApp(proxy, f"listening on {address[0]}:{address[1]} → {host}:{port} (pass mode)")
            async with app.run_test(size=(120, 34)) as pilot:
                config.interceptor.commands = {"RCPT"}

                def client() -> None:
                    try:
                        with smtplib.SMTP(*address, local_hostname="app.example", timeout=30) as smtp:
                            smtp.starttls(context=ssl.create_default_context(cafile=ca_out))
                            smtp.login(endpoints.user, endpoints.password)
                            smtp.sendmail("alice@example.org", ["bob@example.org"], b"Subject: hi\r\n\r\nhello\r\n")
                    except (smtplib.SMTPException, OSError):
                        pass

                threading.Thread(target=client, daemon=True).start()
                await asyncio.to_thread(config.interceptor.wait_held, 30)
                await pilot.pause(0.3)
                path = app.save_screenshot("proxy.svg", directory)
                config.interceptor.commands = set()
                await pilot.press("f")  # forward the held RCPT, so the client finishes
                await pilot.pause(0.3)
        finally:
            proxy.stop()
    return path


if __name__ == "__main__":
    print(asyncio.run(shoot(sys.argv[1] if len(sys.argv) > 1 else "screenshots")))
