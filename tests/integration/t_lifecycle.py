"""t_lifecycle.py: config checks, reloads, shutdown and connection limits of a real
shokaid."""
import os
import signal
import socket
import subprocess
import threading
import time

from harness import (LINE_SECRET, SHOKAID, Daemon, base_config, line_body, line_event,
                     new_id, sign)


def expect(cond, msg):
    if not cond:
        raise AssertionError(msg)


def check(d, text):
    d.write_config(text)
    r = subprocess.run([SHOKAID, "-t", "-c", d.config_path], capture_output=True, timeout=10)
    return r.returncode, r.stdout.decode(), r.stderr.decode()


def test_check_config_good_and_bad():
    d = Daemon()
    try:
        rc, out, err = check(d, base_config())
        expect(rc == 0 and out == "ok\n" and err == "", (rc, out, err))
        path = d.config_path
        cases = [
            (base_config().replace("  max_body: 256KiB\n", "  max_body: 256KiB\n  bogus: 1\n"),
             f"{path}:5:3: server: unknown key 'bogus'"),
            (base_config().replace("max_connections: 2048", "max_connections: lots"),
             f"{path}:8:20: server.max_connections: expected a whole number"),
            (base_config().replace("  max_body: 256KiB\n", ""),
             f"{path}:2:3: server: missing required key 'max_body'"),
            (base_config().replace("read_timeout: 10s", "read_timeout: 10 sec"),
             f"{path}:6:17: server.read_timeout: expected a duration such as 500ms, 10s, "
             "5m, 1h or 14d"),
        ]
        for text, want in cases:
            rc, out, err = check(d, text)
            expect(rc == 1 and want in err.splitlines(), f"want {want!r}, got {err!r}")
        # A secret file readable by others.
        d.write_secret("line-secret", LINE_SECRET, mode=0o644)
        rc, out, err = check(d, base_config())
        expect(rc == 1 and "is readable by group or others (mode 0644)" in err, err)
        # Several errors at once: all reported.
        d.write_secret("line-secret", LINE_SECRET)
        rc, out, err = check(d, base_config().replace("synchronous: full", "synchronous: x")
                             .replace("level: debug", "level: loud"))
        expect(rc == 1 and len(err.splitlines()) == 2, err)
    finally:
        d.__exit__()


def test_sighup_broken_config_keeps_old():
    with Daemon() as d:
        good = d.config_path
        expect(d.post_line(line_body(line_event(new_id())))[0] == 200, "before")
        with open(good, "a") as f:
            f.write("bogus_top_level: 1\n")
        n = d.nlines()
        d.signal(signal.SIGHUP)
        d.wait_log("reload failed; the old config stays in force", start=n)
        d.wait_log(r"config error.*unknown key 'bogus_top_level'", start=n)
        expect(d.post_line(line_body(line_event(new_id())))[0] == 200, "after bad reload")
        expect(d.proc.poll() is None, "daemon died")


def test_sighup_rotates_secret():
    with Daemon() as d:
        d.write_secret("line-secret-2", "the-new-secret")
        d.write_config(base_config(channel={"channel_secret_file": "line-secret-2"}))
        n = d.nlines()
        d.signal(signal.SIGHUP)
        d.wait_log("config reloaded", start=n)
        body = line_body(line_event(new_id()))
        expect(d.post_line(body, secret="the-new-secret")[0] == 200, "new secret")
        expect(d.post_line(line_body(line_event(new_id())), secret=LINE_SECRET)[0] == 401,
               "old secret still accepted")


def test_sigterm_clean_exit_and_drain():
    with Daemon() as d:
        # A request in flight when SIGTERM arrives still gets its answer.
        body = line_body(line_event(new_id()))
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        head = (b"POST /line/main HTTP/1.1\r\nHost: x\r\nX-Line-Signature: " +
                sign(LINE_SECRET, body).encode() + b"\r\nContent-Length: " +
                str(len(body)).encode() + b"\r\n\r\n")
        s.sendall(head + body[:10])
        time.sleep(0.2)
        d.signal(signal.SIGTERM)
        d.wait_log("stop signal")
        s.sendall(body[10:])
        resp = s.recv(100)
        s.close()
        expect(resp.startswith(b"HTTP/1.1 200"), f"in-flight request: {resp!r}")
        rc = d.proc.wait(timeout=12)
        expect(rc == 0, f"exit code {rc}")
        expect(d.query("SELECT count(*) FROM inbox")[0][0] == 1, "in-flight event lost")


def test_one_instance_per_database():
    with Daemon() as d:
        p = subprocess.run([SHOKAID, "-c", d.config_path], cwd=d.dir, capture_output=True,
                           timeout=10)
        expect(p.returncode == 1 and b"another shokaid is running" in p.stderr, p.stderr)


def test_idle_connection_closed():
    with Daemon(server={"idle_timeout": "1s"}) as d:
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        t0 = time.time()
        data = s.recv(10)
        took = time.time() - t0
        s.close()
        expect(data == b"" and 0.8 <= took <= 2.5, f"closed after {took:.2f}s ({data!r})")


def test_slowloris_cut_at_read_timeout():
    with Daemon(server={"read_timeout": "2s", "idle_timeout": "30s"}) as d:
        s = socket.create_connection(("127.0.0.1", d.port), timeout=5)
        t0 = time.time()
        closed_after = None
        req = b"POST /line/main HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 200
        for b in req:
            try:
                s.send(bytes([b]))
            except OSError:
                closed_after = time.time() - t0
                break
            s.settimeout(0.2)
            try:
                if s.recv(100) == b"":
                    closed_after = time.time() - t0
                    break
            except socket.timeout:
                pass
            if time.time() - t0 > 6:
                break
        s.close()
        expect(closed_after is not None and 1.8 <= closed_after <= 3.5,
               f"slow client closed after {closed_after}")
        d.wait_log("request not complete within read_timeout")
        # Legitimate traffic is fine.
        expect(d.post_line(line_body(line_event(new_id())))[0] == 200, "after slowloris")


def test_connection_cap_pauses_accepts():
    with Daemon(server={"max_connections": 4}) as d:
        held = [socket.create_connection(("127.0.0.1", d.port), timeout=5) for _ in range(4)]
        time.sleep(0.3)
        result = []

        def late():
            result.append(d.post_line(line_body(line_event(new_id())))[0])
        t = threading.Thread(target=late)
        t.start()
        time.sleep(0.5)
        expect(result == [], "a fifth connection was served while 4 were open")
        for s in held:
            s.close()
        t.join(5)
        expect(result == [200], result)


def test_fd_exhaustion_backs_off():
    """With few descriptors, holding connections makes accept fail with EMFILE: the
    daemon must pause accepts (no spinning, few log lines) and recover."""
    d = Daemon()
    try:
        d.env["SHOKAI_PRLIMIT"] = "1"
        e = dict(d.env)
        d.lines = []
        d.proc = subprocess.Popen(["prlimit", "--nofile=48:48", SHOKAID, "-c", d.config_path],
                                  cwd=d.dir, env=e, stdout=subprocess.DEVNULL,
                                  stderr=subprocess.PIPE)
        threading.Thread(target=d._reader, args=(d.proc,), daemon=True).start()
        import re
        line = d.wait_log(r"msg=listening addr=\S+:(\d+)", timeout=10)
        d.port = int(re.search(r"addr=\S+:(\d+)", line).group(1))
        held = [socket.create_connection(("127.0.0.1", d.port), timeout=5) for _ in range(80)]
        stat = f"/proc/{d.proc.pid}/stat"

        def cpu():
            f = open(stat).read().split()
            return (int(f[13]) + int(f[14])) / os.sysconf("SC_CLK_TCK")
        d.wait_log("accept failed; pausing accepts")
        c0 = cpu()
        time.sleep(2)
        used = cpu() - c0
        for s in held:
            s.close()
        expect(used < 0.4, f"{used:.2f} CPU seconds in 2 s of EMFILE")
        lines = d.log_text().count("accept failed")
        expect(lines <= 4, f"{lines} accept-failure lines in ~2 s")
        time.sleep(0.5)
        expect(d.request("GET", "/healthz")[0] == 200, "no recovery")
    finally:
        d.__exit__()
