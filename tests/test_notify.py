"""
Notifications: what Slack, Telegram and Mattermost would receive (the webhook / API URL points
at a local HTTP server started here: there is no network) and what an SMTP server receives
(a minimal SMTP listener started here), directly and through ``@notify`` with notify parameters.
"""

from __future__ import annotations

import json
import logging
import socketserver
import threading
from email import message_from_string
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import luigi
import pytest
from cli_helpers import run_cli, write
from pipekit.mattermost import NotifyMattermostParameter, notify_mattermost
from pipekit.slack import NotifySlackParameter, notify_slack
from pipekit.telegram import notify_telegram

import pipekit as law
from pipekit import decorator


class ChatServer:
    """A local HTTP server recording POSTed JSON and answering with a chosen reply."""

    def __init__(self):
        self.requests: list[dict] = []
        self.status, self.body = 200, '{"ok": true}'
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                server.requests.append(
                    {
                        "path": self.path,
                        "headers": dict(self.headers),
                        "json": json.loads(self.rfile.read(length)),
                    }
                )
                self.send_response(server.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(server.body.encode())

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def chat():
    server = ChatServer()
    yield server
    server.close()


class SMTPServer:
    """Just enough SMTP for smtplib: records the envelope and the message of each mail."""

    def __init__(self):
        self.mails: list[dict] = []
        mails = self.mails

        class Handler(socketserver.StreamRequestHandler):
            def reply(self, line):
                self.wfile.write((line + "\r\n").encode())

            def handle(self):
                mail = {"rcpt": []}
                self.reply("220 localhost test SMTP")
                while True:
                    line = self.rfile.readline().decode().rstrip("\r\n")
                    cmd = line[:4].upper()
                    if not line or cmd == "QUIT":
                        self.reply("221 bye")
                        return
                    if cmd in ("EHLO", "HELO"):
                        self.reply("250 localhost")
                    elif cmd == "MAIL":
                        mail["from"] = line.split(":", 1)[1].strip(" <>")
                        self.reply("250 ok")
                    elif cmd == "RCPT":
                        mail["rcpt"].append(line.split(":", 1)[1].strip(" <>"))
                        self.reply("250 ok")
                    elif cmd == "DATA":
                        self.reply("354 go ahead")
                        data = []
                        while (row := self.rfile.readline().decode()) not in (".\r\n", ""):
                            data.append(row)
                        mail["message"] = message_from_string("".join(data))
                        mails.append(dict(mail))
                        self.reply("250 queued")
                    else:
                        self.reply("250 ok")

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", 0), Handler)
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)


@pytest.fixture
def smtp():
    server = SMTPServer()
    yield server
    server.close()


def notifications_config(monkeypatch, **options):
    for key, value in options.items():
        monkeypatch.setenv(f"LAW__notifications__{key}", str(value))


def test_slack_webhook_receives_the_title_and_the_fields(chat):
    ok = notify_slack(
        "Task done",
        {"Task": "Skim(n=5)", "Duration": "2s"},
        webhook_url=chat.url + "/hook",
        channel="#ana",
    )
    assert ok
    (req,) = chat.requests
    assert req["path"] == "/hook"
    body = req["json"]
    assert body["text"] == "Task done" and body["channel"] == "#ana"
    fields = body["attachments"][0]["fields"]
    assert {"title": "Task", "value": "Skim(n=5)", "short": True} in fields


def test_slack_token_and_channel_use_the_web_api_with_a_bearer_token(chat, monkeypatch, tmp_path):
    token_file = tmp_path / "slack.token"
    token_file.write_text("xoxb-123\n")
    notifications_config(
        monkeypatch,
        slack_token=token_file,
        slack_channel="C42",
        slack_api_url=chat.url + "/api/chat.postMessage",
    )
    assert notify_slack("plain", "a text message")
    req = chat.requests[-1]
    assert req["path"] == "/api/chat.postMessage"
    assert req["headers"]["Authorization"] == "Bearer xoxb-123"
    assert req["json"]["channel"] == "C42" and req["json"]["text"] == "plain\n\na text message"


def test_slack_api_errors_are_warnings_not_exceptions(chat, monkeypatch, caplog):
    notifications_config(
        monkeypatch, slack_token="t", slack_channel="C1", slack_api_url=chat.url + "/api"
    )
    chat.body = '{"ok": false, "error": "channel_not_found"}'
    with caplog.at_level(logging.WARNING, logger="pipekit.notify"):
        assert notify_slack("x", "y") is False
    assert "channel_not_found" in caplog.text


def test_telegram_posts_plain_text_to_the_bot_api(chat, monkeypatch):
    notifications_config(
        monkeypatch, telegram_token="123:abc", telegram_chat="-1001", telegram_api_url=chat.url
    )
    assert notify_telegram("Task failed!", {"Task": "Fit()", "Host": "node1"})
    req = chat.requests[-1]
    assert req["path"] == "/bot123:abc/sendMessage"
    assert req["json"] == {"chat_id": "-1001", "text": "Task failed!\n\nTask: Fit()\nHost: node1"}


def test_mattermost_posts_to_the_hook_with_channel_and_user(chat, monkeypatch):
    notifications_config(
        monkeypatch,
        mattermost_hook_url=chat.url + "/hooks/x",
        mattermost_channel="analysis",
        mattermost_user="pipekit-bot",
    )
    assert notify_mattermost("Done", "all 12 branches", mention_user="alice")
    body = chat.requests[-1]["json"]
    assert body == {
        "channel": "analysis",
        "username": "pipekit-bot",
        "text": "Done (@alice)\n\nall 12 branches",
    }


def test_an_unreachable_service_is_a_warning(monkeypatch, caplog):
    with caplog.at_level(logging.WARNING, logger="pipekit.notify"):
        assert notify_mattermost("x", "y", hook_url="http://127.0.0.1:9/nothing") is False
    assert "could not be sent" in caplog.text


def test_missing_settings_say_which_options_to_set(caplog):
    with caplog.at_level(logging.WARNING, logger="pipekit.notify"):
        assert notify_telegram("x", "y") is False
        assert law.notify_mail("x", "y") is False
    assert "telegram_token and telegram_chat" in caplog.text
    assert "mail_recipient and mail_sender" in caplog.text


def test_notify_mail_sends_through_smtp(smtp, monkeypatch):
    notifications_config(
        monkeypatch,
        mail_recipient="ana@example.org",
        mail_sender="pipekit@example.org",
        mail_smtp_host="127.0.0.1",
        mail_smtp_port=smtp.port,
    )
    assert law.notify_mail("Task Skim succeeded!", "Task: Skim()\nDuration: 3s")
    (mail,) = smtp.mails
    assert mail["from"] == "pipekit@example.org" and mail["rcpt"] == ["ana@example.org"]
    assert mail["message"]["Subject"] == "Task Skim succeeded!"
    assert "Duration: 3s" in mail["message"].get_payload()


class Notified(law.Task):
    """A task that notifies through Slack and mail when asked to."""

    fail = luigi.BoolParameter()
    out = luigi.Parameter()
    notify_slack = NotifySlackParameter()
    notify_mail = law.NotifyMailParameter()

    def output(self):
        return law.LocalFileTarget(self.out)

    @decorator.notify
    def run(self):
        self.publish_message("read 10 files")
        if self.fail:
            raise RuntimeError("disk full")
        self.output().dump("ok", formatter="text")


def test_notify_sends_success_with_task_duration_and_last_message(
    chat, smtp, monkeypatch, tmp_path
):
    notifications_config(
        monkeypatch,
        slack_webhook_url=chat.url,
        mail_recipient="a@b.org",
        mail_sender="c@d.org",
        mail_smtp_host="127.0.0.1",
        mail_smtp_port=smtp.port,
    )
    task = Notified(out=str(tmp_path / "ok.txt"), notify_slack=True, notify_mail=True)
    assert luigi.build([task], local_scheduler=True, no_lock=True)
    body = chat.requests[-1]["json"]
    fields = {f["title"]: f["value"] for f in body["attachments"][0]["fields"]}
    assert body["text"].startswith("*Notification from* `Notified(")
    assert fields["Status"].startswith("success") and fields["Last message"] == "read 10 files"
    assert "Duration" in fields and "Traceback" not in fields
    (mail,) = smtp.mails
    assert mail["message"]["Subject"] == "Task Notified succeeded!"
    assert "Status: success" in mail["message"].get_payload()


def test_notify_sends_the_traceback_on_failure(chat, monkeypatch, tmp_path):
    notifications_config(monkeypatch, slack_webhook_url=chat.url)
    task = Notified(out=str(tmp_path / "no.txt"), fail=True, notify_slack=True)
    assert not luigi.build([task], local_scheduler=True, no_lock=True)
    fields = {f["title"]: f["value"] for f in chat.requests[-1]["json"]["attachments"][0]["fields"]}
    assert fields["Status"].startswith("failure")
    assert "RuntimeError: disk full" in fields["Traceback"]


def test_a_failing_notification_does_not_fail_the_task(chat, monkeypatch, tmp_path):
    notifications_config(monkeypatch, slack_webhook_url=chat.url)
    chat.status, chat.body = 500, "internal error"
    task = Notified(out=str(tmp_path / "still.txt"), notify_slack=True)
    assert luigi.build([task], local_scheduler=True, no_lock=True)
    assert (tmp_path / "still.txt").exists() and len(chat.requests) == 1


def test_notify_multi_parameter_sends_through_each_transport(chat, monkeypatch, tmp_path):
    notifications_config(
        monkeypatch, mattermost_hook_url=chat.url + "/mm", slack_webhook_url=chat.url + "/slack"
    )

    class MultiNotified(law.Task):
        notify = law.NotifyMultiParameter(
            parameters=[NotifySlackParameter(), NotifyMattermostParameter()]
        )

        def output(self):
            return law.LocalFileTarget(tmp_path / "multi.txt")

        @decorator.notify
        def run(self):
            self.output().dump("ok", formatter="text")

    assert luigi.build([MultiNotified(notify=True)], local_scheduler=True, no_lock=True)
    assert sorted(r["path"] for r in chat.requests) == ["/mm", "/slack"]
    mm = next(r for r in chat.requests if r["path"] == "/mm")["json"]
    assert "**Status**: success" in mm["text"]


def test_command_line_flag_switches_the_notification_on(chat, tmp_path):
    work = tmp_path / "work"
    write(
        work / "notified.py",
        """
        import luigi
        import pipekit as law
        from pipekit.slack import NotifySlackParameter

        class Hello(law.Task):
            notify_slack = NotifySlackParameter()

            def output(self):
                return law.LocalFileTarget("data/hello.txt")

            @law.decorator.notify
            def run(self):
                self.output().dump("hello", formatter="text")
    """,
    )
    write(work / "law.cfg", f"[notifications]\nslack_webhook_url: {chat.url}/from-cli\n")
    res = run_cli(["run", "notified.Hello", "--notify-slack"], work)
    assert res.returncode == 0, res.stderr
    assert [r["path"] for r in chat.requests] == ["/from-cli"]
