"""t_package.py: what a server gets. `make install` into a staged tree (DESTDIR), its
config check and `make uninstall`; the systemd unit's exposure and `systemd-analyze
verify`; the man pages under `mandoc -Tlint` and against what the programs accept;
`make deb`, lintian, the package's contents, and dpkg installing, removing and purging it
inside a throwaway root (`dpkg --root` with chrootless maintainer scripts, which then
touch only that root). Nothing here changes the host: every path is a temp folder.

A tool that is missing (systemd-analyze, mandoc, dpkg-deb, lintian) makes its test print a
NOTICE and return, as the contract and browser checks do."""
import gzip
import os
import re
import shutil
import subprocess
import tempfile
import time

from harness import REPO, SHOKAID, expect, private_key_pem

SHOKAICTL = os.path.abspath(os.environ.get("SHOKAICTL") or
                            os.path.join(REPO, "build", "fault", "shokaictl"))
MAN_PAGES = ["man/shokaid.8", "man/shokaictl.8", "man/shokai.yaml.5"]
SECRETS = ["line-channel-secret", "line-access-token", "works-bot-secret",
           "works-client-secret"]


def notice(what):
    print(f"NOTICE {what}", flush=True)


def run(cmd, timeout=50, cwd=REPO, env=None):
    r = subprocess.run(cmd, cwd=cwd, capture_output=True, timeout=timeout, env=env,
                       stdin=subprocess.DEVNULL)
    return r.returncode, r.stdout.decode(errors="replace"), r.stderr.decode(errors="replace")


def release_built(what):
    """make install and make deb install the release build (build/shokaid): `make test`
    builds it first, `make check` does not, and building it here would not fit a test's
    time. Returns whether it is current, printing a NOTICE when not."""
    rc, out, err = run(["make", "-q", "build/shokaid", "build/shokaictl"], timeout=30)
    if rc != 0:
        notice(f"{what} skipped: the release build is not current (make build/shokaid "
               "build/shokaictl)")
    return rc == 0


def make(*args, timeout=50):
    rc, out, err = run(["make", "--no-print-directory", *args], timeout=timeout)
    expect(rc == 0, f"make {' '.join(args)} failed ({rc}): {err[-2000:]}")
    return out


def tree(root):
    """Every path under root, relative, with a trailing / for folders."""
    found = set()
    for base, dirs, files in os.walk(root):
        rel = os.path.relpath(base, root)
        for d in dirs:
            found.add(os.path.normpath(os.path.join(rel, d)) + "/")
        for f in files:
            found.add(os.path.normpath(os.path.join(rel, f)))
    return found


def mode(path):
    return os.stat(path).st_mode & 0o7777


def test_package_install_tree():
    if not release_built("make install test"):
        return
    with tempfile.TemporaryDirectory(prefix="shokai-pkg-") as tmp:
        dest = os.path.join(tmp, "root")
        out = make("install", f"DESTDIR={dest}")
        want = {"usr/local/sbin/shokaid", "usr/local/bin/shokaictl",
                "usr/local/lib/systemd/system/shokaid.service",
                "usr/local/share/man/man8/shokaid.8", "usr/local/share/man/man8/shokaictl.8",
                "usr/local/share/man/man5/shokai.yaml.5", "etc/shokai/shokai.yaml",
                "etc/shokai/messages.yaml", "etc/shokai/richmenus.yaml",
                "etc/shokai/referral.yaml", "etc/shokai/announcements.yaml",
                "etc/shokai/richmenu/main.png", "etc/shokai/richmenu/info.png"}
        got = tree(dest)
        expect(want <= got, f"missing from the staged tree: {sorted(want - got)}")
        expect(mode(os.path.join(dest, "usr/local/sbin/shokaid")) == 0o755, "shokaid not 0755")
        expect(mode(os.path.join(dest, "etc/shokai/shokai.yaml")) == 0o644, "config not 0644")
        # A staged tree is a package's: no user, no state directory, not even in DESTDIR.
        expect("var/" not in got, f"make install DESTDIR made state: {sorted(got)}")
        expect("systemctl enable --now shokaid" in out, f"no next steps printed: {out}")
        unit = open(os.path.join(dest, "usr/local/lib/systemd/system/shokaid.service")).read()
        expect("@SBINDIR@" not in unit, "the unit template was not filled in")
        expect("ExecStart=/usr/local/sbin/shokaid -c /etc/shokai/shokai.yaml" in unit,
               f"ExecStart does not match PREFIX: {unit}")

        # The production config is the real platforms' and checks with its secrets in place.
        conf = open(os.path.join(dest, "etc/shokai/shokai.yaml")).read()
        for base in ["https://api.line.me", "https://api-data.line.me",
                     "https://auth.worksmobile.com/oauth2/v2.0/token",
                     "https://www.worksapis.com/v1.0", "/var/lib/shokai/shokai.db",
                     "/etc/shokai/secrets/line-channel-secret"]:
            expect(base in conf, f"dist/shokai.yaml lacks {base}")
        expect("127.0.0.1:8091" not in conf, "dist/shokai.yaml points at the simulator")
        check_dist_config(tmp, os.path.join(dest, "etc/shokai"))

        # Another install keeps the operator's config and leaves the new one beside it.
        mine = os.path.join(dest, "etc/shokai/shokai.yaml")
        with open(mine, "a") as f:
            f.write("# the operator's change\n")
        out = make("install", f"DESTDIR={dest}")
        expect(open(mine).read().endswith("# the operator's change\n"),
               "make install overwrote an existing /etc/shokai/shokai.yaml")
        expect(os.path.exists(mine + ".dist"), "the new config was not left as .dist")
        expect("kept" in out, f"make install did not say it kept the config: {out}")

        # PREFIX moves the binaries and the unit's paths with them.
        dest2 = os.path.join(tmp, "root2")
        make("install", f"DESTDIR={dest2}", "PREFIX=/opt/shokai")
        unit = open(os.path.join(dest2, "opt/shokai/lib/systemd/system/shokaid.service")).read()
        expect("ExecStart=/opt/shokai/sbin/shokaid -c" in unit, f"PREFIX not in the unit: {unit}")

        # uninstall: binaries, unit and man pages go; the config stays.
        make("uninstall", f"DESTDIR={dest}")
        left = {p for p in tree(dest) if not p.endswith("/")}
        expect(all(p.startswith("etc/shokai/") for p in left),
               f"make uninstall left files outside /etc/shokai: {sorted(left)}")
        expect("etc/shokai/shokai.yaml" in left, "make uninstall removed the config")


def check_dist_config(tmp, etc):
    """shokaid -t on the installed config, its absolute paths moved into tmp."""
    conf = os.path.join(tmp, "conf")
    shutil.copytree(etc, conf)
    secrets = os.path.join(tmp, "secrets")
    os.mkdir(secrets, 0o750)
    for name in SECRETS:
        with open(os.path.join(secrets, name), "w") as f:
            f.write("secret-for-the-package-test\n")
        os.chmod(os.path.join(secrets, name), 0o600)
    with open(os.path.join(secrets, "works-private.key"), "w") as f:
        f.write(private_key_pem())
    os.chmod(os.path.join(secrets, "works-private.key"), 0o600)
    main = os.path.join(conf, "shokai.yaml")
    text = open(main).read().replace("/etc/shokai/secrets/", secrets + "/")
    text = text.replace("/var/lib/shokai/", tmp + "/")
    with open(main, "w") as f:
        f.write(text)
    rc, out, err = run([SHOKAID, "-t", "-c", main], timeout=20)
    expect(rc == 0 and out.strip() == "ok", f"shokaid -t on dist/shokai.yaml: {rc} {out}{err}")
    # A secret readable by others is refused, naming the file: the mode rule holds there too.
    os.chmod(os.path.join(secrets, "line-channel-secret"), 0o644)
    rc, out, err = run([SHOKAID, "-t", "-c", main], timeout=20)
    expect(rc == 1 and "line-channel-secret" in err and "chmod 600" in err,
           f"a 0644 secret was not refused: {rc} {err}")


def test_package_unit_hardened():
    if shutil.which("systemd-analyze") is None:
        notice("unit check skipped: systemd-analyze is not installed")
        return
    if not release_built("unit check"):
        return
    with tempfile.TemporaryDirectory(prefix="shokai-unit-") as tmp:
        dest = os.path.join(tmp, "root")
        make("install", f"DESTDIR={dest}", "PREFIX=/usr")
        # verify checks that ExecStart's program exists and that Documentation='s man pages
        # open: point both at the staged tree.
        unit = os.path.join(tmp, "shokaid.service")
        text = open(os.path.join(dest, "usr/lib/systemd/system/shokaid.service")).read()
        with open(unit, "w") as f:
            f.write(text.replace("/usr/sbin/shokaid", os.path.join(dest, "usr/sbin/shokaid")))
        env = dict(os.environ, MANPATH=os.path.join(dest, "usr/share/man"))
        rc, out, err = run(["systemd-analyze", "verify", unit], env=env)
        expect(rc == 0 and err.strip() == "", f"systemd-analyze verify: {rc} {out}{err}")
        rc, out, err = run(["systemd-analyze", "security", "--offline=yes", unit])
        m = re.search(r"Overall exposure level for shokaid\.service: (\d+\.\d+)", out)
        expect(m is not None, f"no exposure level in: {out[-500:]}{err}")
        level = float(m.group(1))
        print(f"NOTICE shokaid.service exposure {level}", flush=True)
        expect(level <= 2.0, f"shokaid.service exposure {level} > 2.0:\n{out}")
        # What the daemon needs stays allowed: its state, read-only config, the network.
        for line in ["StateDirectory=shokai", "ReadOnlyPaths=/etc/shokai",
                     "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "User=shokai",
                     "ExecReload=/bin/kill -HUP $MAINPID", "ProtectSystem=strict"]:
            expect(line in text, f"the unit lacks {line}")


def usage_commands(prog):
    """The first word of each command line in a program's usage text."""
    r = subprocess.run([prog], capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
    words = set()
    for line in r.stderr.decode(errors="replace").splitlines():
        m = re.match(r"^  ([a-z][a-z-]+)( |$)", line)
        if m:
            words.add(m.group(1))
    return words


def config_keys(path, func_marker):
    """Keys of the allowed[] list that follows func_marker in a config source file."""
    src = open(os.path.join(REPO, path)).read()
    i = src.index(func_marker)
    m = re.search(r"allowed\[\] = \{(.*?)NULL \};", src[i:], re.S)
    return re.findall(r'"([a-z_]+)"', m.group(1))


def test_package_man_pages():
    if shutil.which("mandoc") is None:
        notice("man page check skipped: mandoc is not installed")
        return
    for page in MAN_PAGES:
        rc, out, err = run(["mandoc", "-Tlint", "-Wwarning", page])
        expect(rc == 0 and out == "" and err == "", f"mandoc -Tlint {page}: {out}{err}")
    ctl_page = open(os.path.join(REPO, "man/shokaictl.8")).read()
    documented = set(re.findall(r"^\.(?:It )?Ic ([a-z][a-z-]+)", ctl_page, re.M))
    commands = usage_commands(SHOKAICTL)
    expect(len(commands) > 20, f"could not read shokaictl's usage: {commands}")
    expect(commands <= documented,
           f"shokaictl commands missing from shokaictl.8: {sorted(commands - documented)}")
    daemon_page = open(os.path.join(REPO, "man/shokaid.8")).read()
    for flag in ["c", "t", "v"]:
        expect(f".It Fl {flag}" in daemon_page, f"shokaid.8 lacks -{flag}")
    for sig in ["SIGHUP", "SIGTERM", "SIGINT"]:
        expect(f"Dv {sig}" in daemon_page, f"shokaid.8 lacks {sig}")
    conf_page = open(os.path.join(REPO, "man/shokai.yaml.5")).read()
    sections = [("server", "daemon/config/config.c", "\nparse_server("),
                ("storage", "daemon/config/config.c", "\nparse_storage("),
                ("log", "daemon/config/config.c", "\nparse_log("),
                ("outbox", "daemon/config/config.c", "\nparse_outbox("),
                ("admin", "daemon/config/config_admin.c", "allowed")]
    for section, path, marker in sections:
        for key in config_keys(path, marker):
            expect(f"Cm {section}.{key}" in conf_page,
                   f"shokai.yaml.5 does not document {section}.{key} ({path})")


def test_package_deb():
    for tool in ["dpkg-deb", "dpkg", "lintian"]:
        if shutil.which(tool) is None:
            notice(f"package test skipped: {tool} is not installed")
            return
    if not release_built("package test"):
        return
    make("deb", timeout=50)
    version = re.search(r'#define SHOKAI_VERSION "([^"]+)"',
                        open(os.path.join(REPO, "daemon/base/base.h")).read()).group(1)
    arch = run(["dpkg", "--print-architecture"])[1].strip()
    deb = os.path.join(REPO, "build", "deb", f"shokai_{version}-1_{arch}.deb")
    expect(os.path.isfile(deb), f"make deb did not make {deb}")

    rc, out, err = run(["dpkg-deb", "-c", deb])
    expect(rc == 0, f"dpkg-deb -c: {err}")
    listing = {line.split()[-1].lstrip(".") for line in out.splitlines()}
    owners = {line.split()[1] for line in out.splitlines()}
    expect(owners == {"root/root"}, f"files not owned by root in the package: {owners}")
    for path in ["/usr/sbin/shokaid", "/usr/bin/shokaictl", "/lib/systemd/system/shokaid.service",
                 "/etc/shokai/shokai.yaml", "/usr/share/man/man8/shokaid.8.gz",
                 "/usr/share/man/man8/shokaictl.8.gz", "/usr/share/man/man5/shokai.yaml.5.gz",
                 "/usr/share/doc/shokai/copyright", "/usr/share/doc/shokai/changelog.Debian.gz"]:
        expect(path in listing, f"{path} not in the package: {sorted(listing)}")
    rc, control, err = run(["dpkg-deb", "-f", deb])
    expect(f"Version: {version}-1" in control, f"wrong version: {control}")
    for lib in ["libevent-2.1-7", "libevent-openssl-2.1-7", "libjansson4", "libcjson1", "libsqlite3-0",
                "libssl3", "libyaml-0-2", "libc6", "adduser"]:
        expect(lib in control, f"Depends lacks {lib}: {control}")
    expect("libcurl" not in control, f"Depends names libcurl, which shokai no longer links: "
           f"{control}")
    rc, conffiles, err = run(["dpkg-deb", "-I", deb, "conffiles"])
    expect("/etc/shokai/shokai.yaml" in conffiles, f"shokai.yaml is not a conffile: {conffiles}")

    t0 = time.monotonic()
    rc, out, err = run(["lintian", "--no-tag-display-limit", deb], timeout=55)
    took = time.monotonic() - t0
    print(f"NOTICE lintian took {took:.1f}s", flush=True)
    errors = [line for line in (out + err).splitlines() if line.startswith("E:")]
    expect(not errors, "lintian errors:\n" + "\n".join(errors))
    warnings = [line for line in (out + err).splitlines() if line.startswith("W:")]
    expect(not warnings, "lintian warnings:\n" + "\n".join(warnings))

    isolated_dpkg(deb)


def isolated_dpkg(deb):
    """Installs, removes and purges the package in a throwaway root. The maintainer scripts
    run chrootless with DPKG_ROOT set, so they make only the directories there (no user,
    no systemctl); dpkg's log goes there too."""
    with tempfile.TemporaryDirectory(prefix="shokai-dpkg-") as root:
        admin = os.path.join(root, "var/lib/dpkg")
        for d in ["updates", "info"]:
            os.makedirs(os.path.join(admin, d))
        for f in ["status", "available"]:
            open(os.path.join(admin, f), "w").close()
        os.makedirs(os.path.join(root, "var/log"))
        dpkg = ["dpkg", f"--root={root}", f"--log={root}/var/log/dpkg.log",
                "--force-script-chrootless", "--force-depends", "--force-not-root"]

        rc, out, err = run(dpkg + ["-i", deb])
        expect(rc == 0, f"dpkg -i: {out}{err}")
        expect("systemctl enable --now shokaid" in out, f"postinst printed no next steps: {out}")
        for path in ["usr/sbin/shokaid", "etc/shokai/shokai.yaml",
                     "lib/systemd/system/shokaid.service"]:
            expect(os.path.isfile(os.path.join(root, path)), f"{path} not installed")
        expect(mode(os.path.join(root, "var/lib/shokai")) == 0o700, "state dir not 0700")
        expect(mode(os.path.join(root, "etc/shokai/secrets")) == 0o750, "secrets dir not 0750")
        with gzip.open(os.path.join(root, "usr/share/man/man8/shokaid.8.gz"), "rt") as f:
            expect(".Dt SHOKAID 8" in f.read(), "shokaid.8.gz is not the man page")

        # remove keeps config and data; purge removes them.
        conf = os.path.join(root, "etc/shokai/shokai.yaml")
        with open(conf, "a") as f:
            f.write("# the operator's change\n")
        db = os.path.join(root, "var/lib/shokai/shokai.db")
        open(db, "w").close()
        rc, out, err = run(dpkg + ["-r", "shokai"])
        expect(rc == 0, f"dpkg -r: {out}{err}")
        expect(not os.path.exists(os.path.join(root, "usr/sbin/shokaid")), "remove left shokaid")
        expect(os.path.exists(conf) and os.path.exists(db), "remove deleted config or data")
        rc, out, err = run(dpkg + ["--purge", "shokai"])
        expect(rc == 0, f"dpkg --purge: {out}{err}")
        expect(not os.path.exists(os.path.join(root, "etc/shokai")), "purge left /etc/shokai")
        expect(not os.path.exists(os.path.join(root, "var/lib/shokai")), "purge left the state")


def stub_run(script, args, user_exists, env_extra=None):
    """Runs a maintainer script (or install-user.sh) for the real root with every command it
    may call replaced by a stub that only logs its arguments: PATH holds the stubs and
    nothing else, so a command without a stub fails instead of touching the host.
    Returns (exit code, stdout, the logged calls)."""
    with tempfile.TemporaryDirectory(prefix="shokai-stub-") as tmp:
        log = os.path.join(tmp, "calls")
        stubs = os.path.join(tmp, "bin")
        os.mkdir(stubs)
        for name in ["adduser", "useradd", "install", "systemctl", "deb-systemd-invoke", "rm",
                     "rmdir", "getent", "id"]:
            rc = {"getent": 0 if user_exists else 2}.get(name, 0)
            out = "0" if name == "id" else ""
            with open(os.path.join(stubs, name), "w") as f:
                f.write(f'#!/bin/sh\necho "{name} $*" >>"{log}"\n'
                        f'[ -n "{out}" ] && echo {out}\nexit {rc}\n')
            os.chmod(os.path.join(stubs, name), 0o755)
        os.symlink(shutil.which("cat"), os.path.join(stubs, "cat"))
        env = {"PATH": stubs, **(env_extra or {})}
        r = subprocess.run(["/bin/sh", os.path.join(REPO, script), *args], env=env,
                           capture_output=True, timeout=10, stdin=subprocess.DEVNULL)
        calls = open(log).read().splitlines() if os.path.exists(log) else []
        return r.returncode, r.stdout.decode() + r.stderr.decode(), calls


def test_package_maintainer_scripts():
    # A first install: the system user, then the state and secrets directories.
    rc, out, calls = stub_run("dist/deb/postinst", ["configure", ""], user_exists=False)
    expect(rc == 0, f"postinst configure failed: {out}")
    add = [c for c in calls if c.startswith("adduser ")]
    expect(len(add) == 1 and "--system" in add[0] and "--home /var/lib/shokai" in add[0]
           and "--shell /usr/sbin/nologin" in add[0] and add[0].endswith(" shokai"),
           f"postinst did not add the system user: {calls}")
    expect("install -d -m 700 -o shokai -g shokai /var/lib/shokai" in calls,
           f"postinst did not make the state directory: {calls}")
    expect("install -d -m 750 -o root -g shokai /etc/shokai/secrets" in calls,
           f"postinst did not make the secrets directory: {calls}")
    expect(not any(c.startswith(("systemctl", "deb-systemd-invoke")) for c in calls),
           f"postinst enabled or started something: {calls}")
    expect("systemctl enable --now shokaid" in out, f"no next steps: {out}")
    # An upgrade with the user already there: no second user, no next steps again.
    rc, out, calls = stub_run("dist/deb/postinst", ["configure", "0.1.0-1"], user_exists=True)
    expect(rc == 0 and not any(c.startswith("adduser") for c in calls),
           f"postinst upgrade added a user: {calls}")
    expect("Next" not in out, f"postinst upgrade printed the first steps: {out}")
    # Into another root: directories there only; no user, nothing on the host.
    rc, out, calls = stub_run("dist/deb/postinst", ["configure", ""], user_exists=False,
                              env_extra={"DPKG_ROOT": "/tmp/elsewhere"})
    expect(rc == 0 and not any(c.startswith(("adduser", "getent")) for c in calls) and
           all("/tmp/elsewhere/" in c for c in calls), f"postinst with DPKG_ROOT: {calls}")
    # remove keeps data; only purge deletes the state and the secrets.
    rc, out, calls = stub_run("dist/deb/postrm", ["remove"], user_exists=True)
    expect(rc == 0 and not any(c.startswith("rm") for c in calls), f"postrm remove: {calls}")
    rc, out, calls = stub_run("dist/deb/postrm", ["purge"], user_exists=True)
    expect(rc == 0 and "rm -rf /var/lib/shokai /etc/shokai/secrets" in calls,
           f"postrm purge did not remove the state: {calls}")
    rc, out, calls = stub_run("dist/deb/prerm", ["upgrade", "0.1.0-1"], user_exists=True)
    expect(rc == 0 and calls == [], f"prerm upgrade stopped something: {calls}")
    # make install's user step (as root, no DESTDIR) does what the postinst does.
    rc, out, calls = stub_run("scripts/install-user.sh", [], user_exists=False)
    expect(rc == 0 and any(c.startswith("adduser --system") for c in calls) and
           "install -d -m 700 -o shokai -g shokai /var/lib/shokai" in calls,
           f"install-user.sh: {calls} {out}")
