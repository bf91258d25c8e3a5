"""Load and soak: N simulated towers at their full report rates through a real mosquitto into
one fusion service, with a bare paho subscriber on the same broker as the yardstick.

Phase 1 (``--seconds``): the towers publish in real time (3 reports/s each). Figures: fusion's
lag (wall clock minus the wall time its data time stands for; intake = newest report seen,
fused = latest track snapshot, one per second of data time), its RSS over time, and
reports lost (published vs fused, by ``seq``; the broker's dropped counter).
Phase 2 (``--flood-s`` of data): published as fast as the publishers go. Figures: the report
rate fusion sustains, as a ratio to what the bare subscriber receives in the same run.

    python bench/bench_load.py [--towers 200] [--seconds 600] [--flood-s 60] [--json FILE]
"""

from __future__ import annotations

import argparse
import getpass
import json
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import IO, Any

from scipy.stats import linregress

from services.broker import child_env, find_mosquitto, port_is_free, wait_listening

ROLES = str(Path(__file__).resolve().parent / "bench_load_roles.py")
Event = dict[str, Any]
SAMPLE_S = 0.25  # the roles' sampling interval


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


def start_mosquitto(port: int, folder: Path) -> subprocess.Popen[bytes]:
    """mosquitto with deep per-client queues (no silent drops for a slow fusion client) and
    ``$SYS`` every second."""
    binary = find_mosquitto()
    if binary is None:
        raise SystemExit("no mosquitto binary (apt-get install -y mosquitto)")
    conf = folder / "mosquitto.conf"
    conf.write_text(f"listener {port} 127.0.0.1\nallow_anonymous true\n"
                    f"user {getpass.getuser()}\nmax_queued_messages 2000000\n"
                    "sys_interval 1\nlog_dest stderr\nlog_type error\nlog_type warning\n",
                    encoding="utf-8")
    proc = subprocess.Popen([binary, "-c", str(conf)], stdin=subprocess.DEVNULL)
    wait_listening("127.0.0.1", port, 15.0, proc)
    return proc


class RoleProcess:
    """One role process (``argv``); its JSON lines collected as they come."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str]) -> None:
        self.name = name
        self.events: list[Event] = []
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env)
        assert self.proc.stdout is not None
        threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True).start()

    def _read(self, stream: IO[bytes]) -> None:
        for line in stream:
            self.events.append(json.loads(line))

    def wait_event(self, kind: str, timeout_s: float) -> Event:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = [e for e in self.events if e["event"] == kind]
            if found:
                return found[-1]
            if self.proc.poll() is not None and not found:
                raise SystemExit(f"{self.name} exited with {self.proc.returncode}")
            time.sleep(0.1)
        raise SystemExit(f"{self.name}: no {kind!r} within {timeout_s:.0f} s")

    def samples(self) -> list[Event]:
        return [e for e in self.events if e["event"] == "sample"]

    def stop(self) -> None:
        if self.proc.poll() is None:
            assert self.proc.stdin is not None
            self.proc.stdin.close()
            try:
                self.proc.wait(30.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def load_role(name: str, port: int, args: argparse.Namespace) -> RoleProcess:
    """This bench's role ``name`` (bench_load_roles.py) on the broker at ``port``."""
    env = child_env()
    env["BENCH_LOAD_TRACE_S"] = str(args.trace_s)
    return RoleProcess(name, [sys.executable, ROLES, name, str(port), str(args.towers),
                              str(args.seconds), str(args.flood_s)], env)


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


def first_at(samples: list[Event], key: str, target: int) -> float | None:
    """Wall time of the first sample where ``key`` reached ``target``."""
    return next((s["wall_s"] for s in samples if s[key] >= target), None)


def analyse(args: argparse.Namespace, towers: Event, flood: Event, done: Event,
            fusion: list[Event], bare: list[Event]) -> dict[str, Any]:
    start_wall, t0, flood_wall = towers["wall_s"], towers["t0_s"], flood["wall_s"]
    steady = [s for s in fusion if start_wall + 10.0 <= s["wall_s"] <= flood_wall
              and s["clock_s"] is not None]
    intake = [s["wall_s"] - (start_wall + s["clock_s"] - t0) for s in steady]
    fused = [s["wall_s"] - (start_wall + s["fused_t_s"] - t0) for s in steady]
    rss = [(s["wall_s"] - start_wall, s["rss_mb"]) for s in steady]
    minute = min(60.0, max(5.0, len(rss) * SAMPLE_S / 4))
    rss_first = statistics.median(r for t, r in rss if t <= rss[0][0] + minute)
    mid_t = (rss[0][0] + rss[-1][0]) / 2
    rss_mid = statistics.median(r for t, r in rss if abs(t - mid_t) <= minute / 2)
    rss_last = statistics.median(r for t, r in rss if t >= rss[-1][0] - minute)
    warm = [(t, r) for t, r in rss if t >= 30.0] or rss
    slope = linregress([t for t, _ in warm], [r for _, r in warm]).slope * 60.0
    half = [(t, r) for t, r in rss if t >= mid_t]
    slope_half = linregress([t for t, _ in half], [r for _, r in half]).slope * 60.0
    series = {f"{t:.0f}": round(r, 1) for t, r in rss[:: max(1, int(30 / SAMPLE_S))]}
    tracks = {f"{s['wall_s'] - start_wall:.0f}": s.get("tracks")
              for s in steady[:: max(1, int(30 / SAMPLE_S))]}
    total = done["acked"]
    last_f, last_b = fusion[-1], bare[-1]
    fused_total = last_f["reports"] + last_f["rejected"]
    flood_n = total - flood["published"]
    f_done = next((s["wall_s"] for s in fusion
                   if s["reports"] + s["rejected"] >= total and s["queue"] == 0), None)
    b_done = first_at(bare, "distinct", total)
    rate_f = flood_n / (f_done - flood_wall) if f_done else float("nan")
    rate_b = flood_n / (b_done - flood_wall) if b_done else float("nan")
    return {
        "towers": args.towers, "steady_s": args.seconds, "offered_reports_per_s":
            args.towers * 3.0, "published": done["published"], "acked": total,
        "lag_intake_s": {"median": statistics.median(intake), "p99": pct(intake, 0.99),
                         "max": max(intake)},
        "lag_fused_s": {"median": statistics.median(fused), "p99": pct(fused, 0.99),
                        "max": max(fused)},
        "queue_max": max(s["queue"] for s in steady),
        "rss_mb": {"first_minute": rss_first, "middle_minute": rss_mid,
                   "last_minute": rss_last, "growth": rss_last - rss_first,
                   "growth_last_half": rss_last - rss_mid, "max": max(r for _, r in rss),
                   "slope_mb_per_min": slope, "slope_last_half_mb_per_min": slope_half,
                   "every_30_s": series},
        "live_tracks_every_30_s": tracks,
        "lost": {"fusion": total - fused_total, "bare_subscriber": total - last_b["distinct"],
                 "broker_dropped": last_b["dropped"], "publisher_dropped": done["dropped"]},
        "fusion_duplicates": last_f["duplicates"], "fusion_rejected": last_f["rejected"],
        "alert_events": last_f["alert_events"],
        "flood": {"reports": flood_n, "fusion_reports_per_s": rate_f,
                  "bare_reports_per_s": rate_b, "ratio": rate_f / rate_b,
                  "fusion_sustains_towers": rate_f / 3.0},
    }


def report(r: dict[str, Any]) -> str:
    lag_i, lag_f, rss, lost, fl = (r["lag_intake_s"], r["lag_fused_s"], r["rss_mb"],
                                   r["lost"], r["flood"])
    return "\n".join([
        f"towers {r['towers']} x 3 reports/s = {r['offered_reports_per_s']:.0f}/s for "
        f"{r['steady_s']:g} s; published {r['published']}, acked {r['acked']}",
        f"lag intake  median {lag_i['median']:.3f} s  p99 {lag_i['p99']:.3f} s  "
        f"max {lag_i['max']:.3f} s",
        f"lag fused   median {lag_f['median']:.3f} s  p99 {lag_f['p99']:.3f} s  "
        f"max {lag_f['max']:.3f} s (latest track snapshot); queue max {r['queue_max']}",
        f"RSS first minute {rss['first_minute']:.1f} MB, middle {rss['middle_minute']:.1f} MB,"
        f" last minute {rss['last_minute']:.1f} MB, growth {rss['growth']:+.1f} MB "
        f"({rss['slope_mb_per_min']:+.2f} MB/min after 30 s; last half "
        f"{rss['growth_last_half']:+.1f} MB, {rss['slope_last_half_mb_per_min']:+.3f} MB/min),"
        f" max {rss['max']:.1f} MB",
        f"lost: fusion {lost['fusion']}, bare subscriber {lost['bare_subscriber']}, broker "
        f"dropped {lost['broker_dropped']}, publisher dropped {lost['publisher_dropped']}; "
        f"fusion duplicates {r['fusion_duplicates']}, rejected {r['fusion_rejected']}, "
        f"alert events {r['alert_events']}",
        f"flood of {fl['reports']} reports: fusion {fl['fusion_reports_per_s']:.0f}/s, bare "
        f"paho subscriber {fl['bare_reports_per_s']:.0f}/s, ratio {fl['ratio']:.2f} "
        f"(fusion keeps up with ~{fl['fusion_sustains_towers']:.0f} towers)",
    ])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--towers", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=600.0, help="real-time phase")
    parser.add_argument("--flood-s", type=float, default=60.0, help="data seconds flooded")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    parser.add_argument("--trace-s", type=float, default=0.0,
                        help="tracemalloc in fusion from this many wall seconds (0: off; "
                             "slows fusion)")
    args = parser.parse_args()
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="bench-load-") as tmp:
        broker = start_mosquitto(port, Path(tmp))
        roles = [load_role("fusion", port, args), load_role("subscriber", port, args)]
        try:
            for role in roles:
                role.wait_event("ready", 60.0)
            towers = load_role("towers", port, args)
            started = towers.wait_event("start", 300.0)
            flood = towers.wait_event("flood", args.seconds + 120.0)
            done = towers.wait_event("done", args.flood_s * 10 + 600.0)
            total = done["acked"]
            deadline = time.monotonic() + 600.0
            while time.monotonic() < deadline:
                f, b = roles[0].samples()[-1], roles[1].samples()[-1]
                if f["reports"] + f["rejected"] >= total and f["queue"] == 0 \
                        and b["distinct"] >= total:
                    break
                time.sleep(0.5)
            time.sleep(1.5)  # one more $SYS update
            towers.stop()
        finally:
            for role in roles:
                role.stop()
            broker.terminate()
            broker.wait()
            while not port_is_free("127.0.0.1", port):
                time.sleep(0.1)
    figures = analyse(args, started, flood, done, roles[0].samples(), roles[1].samples())
    print(report(figures))
    traced = [e for e in roles[0].events if e["event"] == "trace"]
    if traced:
        figures["trace_top"] = traced[-1]["top"]
        print("tracemalloc, fusion's top growth (from a minute after --trace-s to the end):")
        for site in traced[-1]["top"]:
            print(f"  {site['kib']:+9.1f} KiB {site['blocks']:+7d} blocks  "
                  + " <- ".join(line.strip() for line in site["where"][::-2][:4]))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
