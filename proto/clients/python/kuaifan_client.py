#!/usr/bin/env python3
"""A kuaifan console in a dozen calls: an example for console vendors.

It runs one incident through the closed loop against a live `kuaifan serve`:
report a P1 incident, show the recommendation, confirm the recommended
HANDLE unit, advance the case to HANDLING, FEEDBACK and CLOSED, read the
city's coverage, plan a containment for the robbers fleeing by car, then
start one for a second robbery, report a sighting and lift it. Every
answer is checked; any surprise ends the run with a message and exit
status 1.

The Python stubs are generated from proto/kuaifan/v1/dispatch.proto at run
time with grpcio-tools, so the example always speaks the server's contract:

    python3 -m venv .venv && .venv/bin/pip install grpcio grpcio-tools
    .venv/bin/python kuaifan_client.py --addr 127.0.0.1:50051 [--token T]

With hot standbys (`kuaifan serve --etcd ...`) give every node,
`--addr node1:50051,node2:50051`: a standby refuses commands with
UNAVAILABLE and names the leader in the `kuaifan-leader` trailer, and the
client goes there; a node that does not answer is passed over for the next.
"""

import argparse
import importlib
import pathlib
import sys
import tempfile
import time
import uuid

import grpc

PROTO_ROOT = pathlib.Path(__file__).resolve().parents[2]
PROTO_FILE = "kuaifan/v1/dispatch.proto"

# A command whose answer was lost may have been applied: it is sent again,
# with the same request id, on these codes (the server applies it once).
RETRYABLE = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED,
             grpc.StatusCode.CANCELLED)
# Ten calls 0.1 s, 0.2 s, 0.4 s, 0.8 s and then 1 s apart: 6.5 s, longer than
# a takeover by a standby (a 3 s lease, then the election).
ATTEMPTS = 10
FIRST_BACKOFF_S = 0.1
MAX_BACKOFF_S = 1.0
# The trailer in which a standby names the node that leads (host:port).
LEADER_TRAILER = "kuaifan-leader"


def load_stubs():
    """Compiles the contract into a temporary directory and imports it."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="kuaifan-stubs-")
    include = pathlib.Path(protoc.__file__).parent / "_proto"
    status = protoc.main([
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{include}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        PROTO_FILE,
    ])
    if status != 0:
        sys.exit(f"error: cannot compile {PROTO_ROOT / PROTO_FILE}")
    sys.path.insert(0, out)
    return (importlib.import_module("kuaifan.v1.dispatch_pb2"),
            importlib.import_module("kuaifan.v1.dispatch_pb2_grpc"))


def check(condition, message):
    if not condition:
        sys.exit(f"error: {message}")


class Servers:
    """The nodes a console may reach, and the one it talks to now.

    A call goes to the current node. When a node refuses a call with
    UNAVAILABLE and names the leader, the leader becomes the current node
    (added to the list if it was not given); a node that refuses without
    naming one, or does not answer, is passed over for the next.
    """

    def __init__(self, addrs, rpc):
        self.addrs = list(addrs)
        self.current = 0
        self.rpc = rpc
        self.stubs = {}

    def stub(self):
        addr = self.addrs[self.current]
        if addr not in self.stubs:
            self.stubs[addr] = self.rpc.DispatchStub(grpc.insecure_channel(addr))
        return self.stubs[addr]

    def first_reachable(self, timeout_s):
        """Starts at the first node that accepts a connection."""
        for i, addr in enumerate(self.addrs):
            channel = grpc.insecure_channel(addr)
            try:
                grpc.channel_ready_future(channel).result(timeout=timeout_s)
            except grpc.FutureTimeoutError:
                print(f"({addr} is not reachable; trying the next node)")
                continue
            finally:
                channel.close()
            self.current = i
            return True
        return False

    def after_refusal(self, error):
        """Turns to the node to try next after `error`; what it says."""
        leader = dict(error.trailing_metadata() or ()).get(LEADER_TRAILER)
        was = self.addrs[self.current]
        if leader:
            if leader not in self.addrs:
                self.addrs.append(leader)
            self.current = self.addrs.index(leader)
        else:
            self.current = (self.current + 1) % len(self.addrs)
        return f"{was}: {error.code().name}; next {self.addrs[self.current]}"


def mm_ss(seconds):
    return f"{int(seconds) // 60}:{int(seconds) % 60:02d}"


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--addr", default="127.0.0.1:50051",
                        help="host:port of kuaifan serve; every node's, comma-separated, with standbys")
    parser.add_argument("--token", help="bearer token (a dispatcher's) when the server uses --auth")
    parser.add_argument("--lat", type=float, default=35.4950)
    parser.add_argument("--lng", type=float, default=112.8450)
    args = parser.parse_args()

    pb, rpc = load_stubs()
    metadata = [("authorization", f"Bearer {args.token}")] if args.token else []
    servers = Servers([a.strip() for a in args.addr.split(",") if a.strip()], rpc)
    if not servers.addrs or not servers.first_reachable(timeout_s=5):
        sys.exit(f"error: no server is reachable at {args.addr}")

    def send(method, request):
        """Calls `method` (its name) on the current node; on UNAVAILABLE,
        DEADLINE_EXCEEDED or CANCELLED, again with the same request (and
        so the same request id), on the node that leads if the refusal
        names it, else on the next; returns the answer and its call."""
        backoff = FIRST_BACKOFF_S
        for attempt in range(1, ATTEMPTS + 1):
            try:
                return getattr(servers.stub(), method).with_call(
                    request, metadata=metadata, timeout=30)
            except grpc.RpcError as e:
                if e.code() not in RETRYABLE or attempt == ATTEMPTS:
                    sys.exit(f"error: {method}: {e.code().name}: {e.details()}")
                moved = servers.after_refusal(e)
                print(f"({method}: {moved})")
                time.sleep(backoff)
                backoff = min(backoff * 2, MAX_BACKOFF_S)

    def call(method, request):
        """A read: answered by whichever node is current."""
        return send(method, request)[0]

    def command(method, request):
        """A command: one request id for the action, the same id on every retry."""
        request.request_id = str(uuid.uuid4())
        answer, reply = send(method, request)
        if ("kuaifan-replayed", "true") in (reply.initial_metadata() or ()):
            print(f"({method}: answered as a retry; applied once)")
        return answer

    # 1. A robbery reported downtown: the incident and what to send.
    answer = command("ReportIncident", pb.ReportIncidentRequest(
        location=pb.LatLng(lat=args.lat, lng=args.lng),
        priority=pb.P1,
        category="robbery",
        description="two suspects, fleeing on foot",
        caller_ref="110-example",
    ))
    incident = answer.incident
    check(incident.stage == pb.REPORTED, f"a new incident is REPORTED, not {pb.Stage.Name(incident.stage)}")
    print(f"incident {incident.id} in zone {incident.zone_id or '(none)'}")
    rec = answer.recommendation
    check(len(rec.candidates) > 0, "the recommendation names units")
    print(f"{'tier':<9}{'unit':<6}{'call sign':<14}{'ETA':>6}  met")
    for c in rec.candidates:
        print(f"{pb.Tier.Name(c.tier):<9}{c.unit_id:<6}{c.call_sign:<14}{mm_ss(c.eta_s):>6}  "
              f"{'yes' if c.meets_target else 'NO'}")
    for t in rec.tiers:
        print(f"  {pb.Tier.Name(t.tier)}: target {mm_ss(t.target_s)}, "
              f"{t.assigned} of {t.wanted} {'met' if t.met else 'NOT MET'}")
    handle = rec.candidates[0]
    check(handle.tier == pb.HANDLE, "the first candidate handles the incident")

    # 2. The dispatcher confirms the handling unit, with the tier (and goal)
    # it was shown: the server records them as given. Were the unit taken
    # meanwhile, the refusal would be FAILED_PRECONDITION with a fresh
    # recommendation in its details (grpcio-status reads them:
    # rpc_status.from_call(error).details[0].Unpack(pb.Recommendation())).
    shown = pb.ConfirmedUnit(unit_id=handle.unit_id, tier=handle.tier, goal=handle.goal)
    incident = command("ConfirmAssignment", pb.ConfirmAssignmentRequest(
        incident_id=incident.id, units=[shown], note="confirmed by the example"))
    check(incident.stage == pb.ASSIGNED, f"confirmed, the case is ASSIGNED, not {pb.Stage.Name(incident.stage)}")
    check(list(incident.unit_ids) == [handle.unit_id], f"the case lists {handle.unit_id}")

    # 3. The case runs to its end.
    for stage in (pb.HANDLING, pb.FEEDBACK, pb.CLOSED):
        incident = command("AdvanceIncident", pb.AdvanceIncidentRequest(
            incident_id=incident.id, to=stage, note="example"))
        check(incident.stage == stage, f"the case moved to {pb.Stage.Name(stage)}")
    stages = [pb.Stage.Name(h.stage) for h in incident.history]
    check(stages == ["REPORTED", "REGISTERED", "ASSIGNED", "HANDLING", "FEEDBACK", "CLOSED"],
          f"the history holds the six steps in order, not {stages}")
    print("closed loop: " + " -> ".join(stages))

    # 4. The unit is free again, and the city's coverage.
    units = call("ListUnits", pb.ListUnitsRequest()).units
    unit = next((u for u in units if u.id == handle.unit_id), None)
    check(unit is not None and unit.status == pb.RETURNING, f"{handle.unit_id} is RETURNING")
    coverage = call("GetCoverage", pb.GetCoverageRequest(resolution=0))
    shares = (coverage.within_60s, coverage.within_180s, coverage.within_300s)
    check(all(0.0 <= s <= 1.0 for s in shares), f"coverage shares are fractions: {shares}")
    check(shares[0] <= shares[1] <= shares[2], f"coverage grows with time: {shares}")
    check(len(coverage.cells) > 0, "coverage has cells")
    print("coverage: {:.1%} within 60 s, {:.1%} within 180 s, {:.1%} within 300 s".format(*shares))

    # 5. A retry is applied once: the same request id again (as after a
    # lost answer) gets the same incident, and no second one is recorded.
    retry = pb.ReportIncidentRequest(location=pb.LatLng(lat=args.lat, lng=args.lng),
                                     priority=pb.P3, category="noise",
                                     request_id=str(uuid.uuid4()))
    first = call("ReportIncident", retry).incident
    again, reply = send("ReportIncident", retry)
    check(again.incident.id == first.id, f"the retry names incident {first.id}, not {again.incident.id}")
    check(("kuaifan-replayed", "true") in reply.initial_metadata(), "the retry is marked replayed")
    listed = call("ListIncidents", pb.ListIncidentsRequest()).incidents
    check(sum(1 for i in listed if i.category == "noise") == 1, "one incident for two calls with one id")
    print(f"retry: incident {first.id} once for two calls with one request id")

    # 6. The robbers flee by car: which crossings of the three rings can be
    # held before they get there (a what-if; changes nothing).
    now_ms = int(time.time() * 1000)
    plan = call("PlanContainment", pb.PlanContainmentRequest(
        location=pb.LatLng(lat=args.lat, lng=args.lng),
        escape_time_ms=now_ms - 5 * 60 * 1000,
    ))
    check([r.ring for r in plan.rings] == [1, 2, 3], "the plan covers rings 1, 2 and 3")
    for ring in plan.rings:
        held = [c for c in ring.crossings if c.verdict == pb.CLOSED_IN_TIME]
        print(f"ring {ring.ring} {ring.id}: {'CLOSED' if ring.closed else 'OPEN'}, "
              f"{len(held)} of {len(ring.crossings)} crossings held in time")
        for c in held:
            check(c.holder_arrival_ms + 60_000 <= c.suspect_earliest_ms,
                  f"{c.label}: its holder is there the margin before the suspect")
    print(f"containment: {plan.summary}")

    # 7. Move-up advice (动中备勤): what would follow sending a P1's units,
    # the advice now, and the dispatcher accepting its first move (a
    # command: the unit's standby point becomes the post).
    rec = call("Recommend", pb.RecommendRequest(
        location=pb.LatLng(lat=args.lat, lng=args.lng), priority=pb.P1, with_move_ups=True))
    after = rec.move_ups_after
    sent = {c.unit_id for c in rec.candidates}
    check(all(m.unit_id not in sent for m in after.moves), "no unit recommended is moved up")
    print(f"after sending {len(sent)} units: {len(after.moves)} moves advised")
    advice = call("GetMoveUps", pb.GetMoveUpsRequest())
    check(advice.budget.max_moves >= len(advice.moves), "the advice keeps to its budget")
    check(advice.expected_after >= advice.expected_before, "moves only add expected coverage")
    print(f"move-ups: {len(advice.moves)} advised; city within 180 s "
          f"{advice.city_covered_before:.1%} -> {advice.city_covered_after:.1%}")
    for m in advice.moves:
        print(f"  {m.reason} ({mm_ss(m.drive_s)})")
    if advice.moves:
        first = advice.moves[0]
        moved = command("AcceptMoveUp", pb.AcceptMoveUpRequest(
            unit_id=first.unit_id, post_id=first.post_id, note="accepted by the example"))
        check(moved.unit.post_id == first.post_id, f"{first.unit_id} stands by at {first.post_id}")
        check(moved.unit.status in (pb.AVAILABLE, pb.RETURNING), "a unit moved up stays dispatchable")
        print(f"accepted: {moved.unit.id} stands by at {moved.unit.post_id}")
    # 8. The dispatcher carries the containment out for a second robbery: the units sent
    # to their crossings, the station teams and staffed posts ordered.
    robbery = command("ReportIncident", pb.ReportIncidentRequest(
        location=pb.LatLng(lat=args.lat, lng=args.lng),
        priority=pb.P1, category="robbery", description="fled by car",
    )).incident
    started = command("StartContainment", pb.StartContainmentRequest(
        incident_id=robbery.id, escape_time_ms=now_ms - 5 * 60 * 1000, note="fled by car"))
    check(started.state == pb.CONTAINMENT_STATE_RUNNING, "the containment runs")
    check(len(started.orders) > 0, "responders are ordered to crossings")
    sent = [o.responder_id for o in started.orders if o.responder_kind == pb.RESPONDER_UNIT]
    listed = {u.id: u for u in call("ListUnits", pb.ListUnitsRequest()).units}
    for unit_id in sent:
        check(listed[unit_id].status == pb.DISPATCHED and listed[unit_id].incident_id == robbery.id,
              f"{unit_id} is DISPATCHED to its crossing for incident {robbery.id}")
    print(f"containment started: {len(started.orders)} crossings ordered held, "
          f"{len(sent)} of them by units")

    # 9. A camera sees the car: the plan counts from there, and the free
    # responders it needs are sent.
    seen = command("ReportSighting", pb.ReportSightingRequest(
        incident_id=robbery.id, source="ANPR camera",
        sighting=pb.Sighting(location=pb.LatLng(lat=args.lat, lng=args.lng),
                             time_ms=int(time.time() * 1000) - 60 * 1000)))
    check(len(seen.sightings) == 1, "the sighting is recorded")
    check(len(seen.orders) >= len(started.orders), "a sighting keeps every order given")
    print(f"sighting: {len(seen.orders) - len(started.orders)} more crossings ordered held")

    # 10. Lifted: its units are free again.
    lifted = command("LiftContainment", pb.LiftContainmentRequest(
        incident_id=robbery.id, note="example over"))
    check(lifted.state == pb.CONTAINMENT_STATE_LIFTED, "the containment is lifted")
    listed = {u.id: u for u in call("ListUnits", pb.ListUnitsRequest()).units}
    for unit_id in sent:
        check(listed[unit_id].status == pb.AVAILABLE, f"{unit_id} is AVAILABLE again")
    print(f"containment lifted: {len(sent)} units AVAILABLE again")
    print("ok")


if __name__ == "__main__":
    main()
