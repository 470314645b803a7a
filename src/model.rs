//! Domain model: sessions, their status machine, locations, ASNs and ids.
//!
//! This module depends on nothing else in the crate. The status transition
//! table lives here and only here; the store refuses any other transition.

use serde::{Deserialize, Serialize};
use std::fmt;
use std::net::IpAddr;

/// Milliseconds since the Unix epoch.
pub type UnixMillis = u64;

/// Current wall-clock time in milliseconds since the epoch.
pub fn now_ms() -> UnixMillis {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}

/// An autonomous system number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Asn(pub u32);

impl Asn {
    /// Reserved ASNs that may never appear in a session (RFC 7607, 6793,
    /// 5398, 7300, IANA reserved). Private-use ranges are *not* listed here;
    /// see [`Asn::is_private`], which policy may allow or forbid.
    pub fn is_reserved(self) -> bool {
        matches!(self.0,
            0 | 23456 | 65535 | 4294967295
            | 64496..=64511      // documentation (RFC 5398)
            | 65536..=65551      // documentation (RFC 5398)
            | 65552..=131071     // IANA reserved
        )
    }

    /// Private-use ASNs (RFC 6996).
    pub fn is_private(self) -> bool {
        matches!(self.0, 64512..=65534 | 4200000000..=4294967294)
    }
}

impl fmt::Display for Asn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// Lifecycle of a session. Strings are the draft's spelling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum SessionStatus {
    /// Waits for an operator's decision.
    Pending,
    /// Approved and queued for provisioning.
    Approved,
    /// Refused by policy or an operator (terminal).
    Rejected,
    /// A worker is pushing the config to the router.
    Provisioning,
    /// The router confirmed the config; BGP not up yet.
    Configured,
    /// BGP is up.
    Established,
    /// BGP was up and went down.
    Down,
    /// Not up within the time window; config removed (terminal).
    Unestablished,
    /// The push failed after its retries; needs an operator.
    Failed,
    /// Config is being removed from the router; then the session is gone.
    Deleting,
}

impl SessionStatus {
    pub const ALL: [SessionStatus; 10] = [
        SessionStatus::Pending,
        SessionStatus::Approved,
        SessionStatus::Rejected,
        SessionStatus::Provisioning,
        SessionStatus::Configured,
        SessionStatus::Established,
        SessionStatus::Down,
        SessionStatus::Unestablished,
        SessionStatus::Failed,
        SessionStatus::Deleting,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Pending => "Pending",
            SessionStatus::Approved => "Approved",
            SessionStatus::Rejected => "Rejected",
            SessionStatus::Provisioning => "Provisioning",
            SessionStatus::Configured => "Configured",
            SessionStatus::Established => "Established",
            SessionStatus::Down => "Down",
            SessionStatus::Unestablished => "Unestablished",
            SessionStatus::Failed => "Failed",
            SessionStatus::Deleting => "Deleting",
        }
    }

    /// Parses the draft spelling, case-insensitively.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|st| st.as_str().eq_ignore_ascii_case(s))
    }

    /// The one transition table. `self -> to` is allowed iff this says so.
    pub fn can_transition_to(self, to: SessionStatus) -> bool {
        use SessionStatus::*;
        matches!(
            (self, to),
            (Pending, Approved)
                | (Pending, Rejected)
                | (Pending, Deleting)
                | (Approved, Provisioning)
                | (Approved, Deleting)
                | (Approved, Failed)
                // retry after a transient error goes back to the queue
                | (Provisioning, Approved)
                | (Provisioning, Configured)
                | (Provisioning, Failed)
                | (Provisioning, Deleting)
                | (Configured, Established)
                | (Configured, Down)
                | (Configured, Unestablished)
                | (Configured, Deleting)
                | (Configured, Approved) // re-push (operator retry / drift)
                | (Configured, Failed) // drift: the neighbor was changed by hand
                | (Established, Down)
                | (Established, Deleting)
                | (Established, Approved) // drift: neighbor missing, re-push
                | (Established, Failed)
                | (Down, Established)
                | (Down, Deleting)
                | (Down, Unestablished)
                | (Down, Approved)
                | (Down, Failed)
                | (Failed, Approved) // operator retry
                | (Failed, Deleting)
                | (Failed, Rejected)
                | (Unestablished, Deleting)
                | (Rejected, Deleting)
        )
    }

    /// States that count as "waiting" for the v0 get_status answer (202).
    pub fn is_waiting(self) -> bool {
        matches!(
            self,
            SessionStatus::Pending | SessionStatus::Approved | SessionStatus::Provisioning
        )
    }

    /// States in which our side of the session is configured on the router.
    pub fn is_configured(self) -> bool {
        matches!(
            self,
            SessionStatus::Configured | SessionStatus::Established | SessionStatus::Down
        )
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// `public` (an IXP LAN) or `private` (PNI).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LocationType {
    Public,
    Private,
}

impl LocationType {
    pub fn as_str(self) -> &'static str {
        match self {
            LocationType::Public => "public",
            LocationType::Private => "private",
        }
    }
    /// Case-insensitive parse (`PUBLIC` from v0 clients is accepted).
    pub fn parse(s: &str) -> Option<Self> {
        if s.eq_ignore_ascii_case("public") {
            Some(LocationType::Public)
        } else if s.eq_ignore_ascii_case("private") {
            Some(LocationType::Private)
        } else {
            None
        }
    }
}

/// A location as it appears in a session: `{"id": "pdb:ix:42", "type": "public"}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LocationRef {
    pub id: String,
    #[serde(rename = "type")]
    pub kind: LocationType,
}

/// A secret (TCP-MD5 password). Its `Debug` and `Display` never show it.
/// It serializes in clear *only* for the store; API views must redact it.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    pub fn new(s: impl Into<String>) -> Self {
        Secret(s.into())
    }
    /// The clear value, for templates and drivers only.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A session id: a UUID, 36 characters (see [`new_id`]).
pub type SessionId = String;
/// A request id: a UUID, 36 characters.
pub type RequestId = String;

/// Generates a new id: a UUID of version 7 (RFC 9562), the time in
/// milliseconds in its first 48 bits and 74 random bits after it, as
/// lowercase hex in the 8-4-4-4-12 shape.
///
/// The random bits keep ids unguessable; the time in front makes ids sort
/// by creation, so that each store tree keyed by id (session records,
/// requests, a session's job list, the audit) takes new records at its end
/// rather than at random places (at 100k sessions a write then lands in
/// leaves sled has cached, not in leaves it must read back from its file).
/// Ids made before 3 December 2026 are version 4 (random throughout); both
/// are ids, and nothing reads the time back out of one.
pub fn new_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0);
    id_at(ms, rand::random())
}

/// The version 7 id of `ms` with the random bits `r` (pure).
fn id_at(ms: u64, r: [u8; 10]) -> String {
    let mut b = [0u8; 16];
    b[..6].copy_from_slice(&ms.to_be_bytes()[2..]);
    b[6..].copy_from_slice(&r);
    // RFC 9562 version 7 / variant bits
    b[6] = (b[6] & 0x0f) | 0x70;
    b[8] = (b[8] & 0x3f) | 0x80;
    id_text(&b)
}

/// The id whose 16 bytes are `b`: lowercase hex in the 8-4-4-4-12 shape.
pub fn id_text(b: &[u8; 16]) -> String {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [0u8; 36];
    let mut at = 0;
    for (i, byte) in b.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            out[at] = b'-';
            at += 1;
        }
        out[at] = HEX[usize::from(byte >> 4)];
        out[at + 1] = HEX[usize::from(byte & 0xf)];
        at += 2;
    }
    // only ASCII was written: never the empty default
    String::from_utf8(out.to_vec()).unwrap_or_default()
}

/// The 16 bytes of `s` if it has the shape of [`is_id`] (so that
/// [`id_text`] gives `s` back).
pub fn id_bytes(s: &str) -> Option<[u8; 16]> {
    if !is_id(s) {
        return None;
    }
    let mut b = [0u8; 16];
    for (text, bytes) in [
        (0..8, 0..4),
        (9..13, 4..6),
        (14..18, 6..8),
        (19..23, 8..10),
        (24..36, 10..16),
    ] {
        hex::decode_to_slice(&s[text], &mut b[bytes]).ok()?;
    }
    Some(b)
}

/// True when `s` has the shape [`new_id`] produces.
pub fn is_id(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_digit() || (b'a'..=b'f').contains(c),
        })
}

/// Who asked for a session.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Direction {
    /// A peer asked us (the Peering API's receiving side). Records written
    /// before the asking side existed are all inbound.
    #[default]
    Inbound,
    /// We asked a remote network (`peerd request`); the remote's view of
    /// it is in [`Session::remote`].
    Outbound,
}

impl Direction {
    pub fn as_str(self) -> &'static str {
        match self {
            Direction::Inbound => "inbound",
            Direction::Outbound => "outbound",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Direction::Inbound, Direction::Outbound]
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
    }

    pub fn is_inbound(&self) -> bool {
        *self == Direction::Inbound
    }
}

/// How far an outbound request has got with the remote network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RemotePhase {
    /// Recorded on our disk; the remote has not confirmed it (yet). A
    /// resend first asks the remote what it holds, so it never asks twice.
    #[default]
    Sending,
    /// The remote answered with it (its id and status are known).
    Sent,
    /// The remote no longer holds it (refused, deleted there, or withdrawn
    /// by us).
    Gone,
}

impl RemotePhase {
    pub fn as_str(self) -> &'static str {
        match self {
            RemotePhase::Sending => "sending",
            RemotePhase::Sent => "sent",
            RemotePhase::Gone => "gone",
        }
    }
}

/// The remote network's side of an outbound session, as its Peering API
/// last reported it. Every value here was checked (lengths, characters)
/// before it was stored; none of it ever reaches a template.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RemoteState {
    pub phase: RemotePhase,
    /// The remote's session id (draft `session_id`, v0 `uuid`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The remote's request id (draft `request_id`, v0 `requestId`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// The remote's status string (`Pending`, `Configured`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// The remote's `status_detail`, or why it refused.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Failed attempts to send (or to learn the fate of) the request.
    #[serde(default)]
    pub attempts: u32,
    /// When the remote last answered about it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checked_ms: Option<UnixMillis>,
}

/// A BGP session, normalised for our router: `local_*` is the other
/// network (the neighbor), `peer_*` is us. For an inbound session the
/// other network is the requester; for an outbound one ([`Direction`]) it
/// is the remote we asked, so the worker, render and drift code treat both
/// alike.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    pub session_id: SessionId,
    pub request_id: RequestId,
    /// The requester's ASN (the network that owns this session in the API).
    pub local_asn: Asn,
    pub local_ip: IpAddr,
    /// Our ASN.
    pub peer_asn: Asn,
    pub peer_ip: IpAddr,
    pub local_bgp_role: Option<u8>,
    pub peer_bgp_role: Option<u8>,
    pub local_insert_asn: bool,
    pub peer_insert_asn: bool,
    pub local_monitoring_session: bool,
    pub peer_monitoring_session: bool,
    pub peer_type: LocationType,
    pub session_secret: Option<Secret>,
    pub location: LocationRef,
    pub status: SessionStatus,
    /// Human-readable last error or reason.
    pub status_detail: Option<String>,
    /// Name of the router (from the inventory) that serves this session.
    pub router: String,
    /// Ordering key assigned by the store at insert (monotonic).
    pub seq: u64,
    pub created_ms: UnixMillis,
    pub updated_ms: UnixMillis,
    /// When the session first reached `Configured` (start of the time window).
    pub configured_ms: Option<UnixMillis>,
    /// The principal that created it (e.g. `pdb:1234`, `operator:noc`).
    pub created_by: String,
    /// The prefix limit derived at intake from the requester's PeeringDB
    /// `info_prefixes4`/`info_prefixes6` plus the configured margin; the
    /// render context prefers it over the inventory's default. Derived, so
    /// not part of [`Session::same_request_as`]; absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_prefix: Option<u32>,
    /// True once a push of this session's neighbor may have changed the
    /// router: set durably by the worker just before the first apply, and
    /// cleared by the store only when the session becomes `Unestablished`
    /// (the worker removed its neighbor first). False means the router
    /// never saw this session (or no longer has it), so a removal needs no
    /// router and a first push must first check that the address is not
    /// already configured there. Internal: never part of an API view;
    /// absent in older records (the layout upgrade sets it from the status).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pushed: bool,
    /// Who asked: a peer (`inbound`, the default of older records) or we
    /// (`outbound`).
    #[serde(default, skip_serializing_if = "Direction::is_inbound")]
    pub direction: Direction,
    /// For an outbound session: the remote's side of it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote: Option<RemoteState>,
    /// Graceful shutdown before removal: set (in the same transaction)
    /// when an `Established` session becomes `Deleting`. Internal; absent
    /// in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<Drain>,
    /// The maintenance window that holds this session (drained, then shut
    /// down on its router). Internal; absent in older records.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<MaintenanceHold>,
}

/// A drain (RFC 8326 graceful shutdown) in progress.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Drain {
    /// None: the tagged config is not (known to be) on the router yet.
    /// Some: it is, and the next step (removal, shutdown) is due then.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until_ms: Option<UnixMillis>,
}

/// A session held by a maintenance window.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceHold {
    /// The window's id.
    pub window: String,
    /// Set while its routes are tagged GRACEFUL_SHUTDOWN, before the
    /// shutdown (only for a session that was `Established`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drain: Option<Drain>,
    /// The neighbor is (to be) administratively shut down.
    #[serde(default)]
    pub shutdown: bool,
}

/// What the router should hold for a session: its neighbor as asked
/// (`Normal`), its routes tagged GRACEFUL_SHUTDOWN (`Drain`), or the
/// neighbor shut down (`Shutdown`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum NeighborForm {
    Normal,
    Drain,
    Shutdown,
}

/// What a maintenance window covers.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MaintenanceTarget {
    /// A router of the inventory, by name.
    Router(String),
    /// A location of the inventory, by id.
    Location(String),
}

impl MaintenanceTarget {
    /// True when `s` is covered.
    pub fn covers(&self, s: &Session) -> bool {
        match self {
            MaintenanceTarget::Router(r) => s.router == *r,
            MaintenanceTarget::Location(l) => s.location.id == *l,
        }
    }
}

impl fmt::Display for MaintenanceTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaintenanceTarget::Router(r) => write!(f, "router {r}"),
            MaintenanceTarget::Location(l) => write!(f, "location {l}"),
        }
    }
}

/// A maintenance window: planned, active, then over.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MaintenanceWindow {
    pub id: String,
    pub target: MaintenanceTarget,
    pub start_ms: UnixMillis,
    /// None: until an operator ends it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub end_ms: Option<UnixMillis>,
    /// Operator's text (checked: bounded, plain).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    pub created_by: String,
    pub created_ms: UnixMillis,
    /// The window was applied to its sessions (they are held).
    #[serde(default)]
    pub started: bool,
    /// The window is over (ended or cancelled); its sessions are released.
    #[serde(default)]
    pub ended: bool,
}

impl MaintenanceWindow {
    /// Due to start: not started, not over, start reached and end not.
    pub fn due(&self, now: UnixMillis) -> bool {
        !self.started && !self.ended && self.start_ms <= now && !self.over_at(now)
    }
    /// Its end time passed.
    pub fn over_at(&self, now: UnixMillis) -> bool {
        self.end_ms.is_some_and(|e| e <= now)
    }
    /// Active now: started and not over.
    pub fn active(&self) -> bool {
        self.started && !self.ended
    }
}

impl Session {
    /// The form the router should hold for this session now.
    pub fn form(&self) -> NeighborForm {
        match &self.maintenance {
            Some(m) if m.shutdown => NeighborForm::Shutdown,
            Some(m) if m.drain.is_some() => NeighborForm::Drain,
            _ if self.drain.is_some() => NeighborForm::Drain,
            Some(_) => NeighborForm::Shutdown,
            None => NeighborForm::Normal,
        }
    }
}

impl Session {
    /// A session at `location` (on `router`) from `local` (requester ASN and
    /// address) to `peer` (us), with the draft's defaults for every optional
    /// field, status `Approved` and fresh ids. For `peerd check`'s sample
    /// renders, benchmarks and tests; the API builds sessions from validated
    /// requests instead.
    pub fn sample(
        router: &str,
        location: &str,
        local: (u32, IpAddr),
        peer: (u32, IpAddr),
    ) -> Session {
        Session {
            session_id: new_id(),
            request_id: new_id(),
            local_asn: Asn(local.0),
            local_ip: local.1,
            peer_asn: Asn(peer.0),
            peer_ip: peer.1,
            local_bgp_role: None,
            peer_bgp_role: None,
            local_insert_asn: true,
            peer_insert_asn: true,
            local_monitoring_session: false,
            peer_monitoring_session: false,
            peer_type: LocationType::Public,
            session_secret: None,
            location: LocationRef {
                id: location.into(),
                kind: LocationType::Public,
            },
            status: SessionStatus::Approved,
            status_detail: None,
            router: router.into(),
            seq: 0,
            created_ms: 0,
            updated_ms: 0,
            configured_ms: None,
            created_by: "sample".into(),
            max_prefix: None,
            pushed: false,
            direction: Direction::Inbound,
            remote: None,
            drain: None,
            maintenance: None,
        }
    }

    /// True when `other` asks for the same session with the same parameters
    /// (ids, status and timestamps aside).
    pub fn same_request_as(&self, other: &Session) -> bool {
        self.local_asn == other.local_asn
            && self.local_ip == other.local_ip
            && self.peer_asn == other.peer_asn
            && self.peer_ip == other.peer_ip
            && self.local_bgp_role == other.local_bgp_role
            && self.peer_bgp_role == other.peer_bgp_role
            && self.local_insert_asn == other.local_insert_asn
            && self.peer_insert_asn == other.peer_insert_asn
            && self.local_monitoring_session == other.local_monitoring_session
            && self.peer_monitoring_session == other.peer_monitoring_session
            && self.peer_type == other.peer_type
            && self.session_secret == other.session_secret
            && self.location == other.location
    }
}

/// Who is calling the API, as established by authentication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Caller {
    /// Stable principal name for audit records: `pdb:<user id>`,
    /// `token:<id prefix>`, `operator:<key name>`.
    pub principal: String,
    /// ASNs this caller may act for (ignored for operators).
    pub asns: std::collections::BTreeSet<u32>,
    /// Operators may act for any ASN (requests that arrive by e-mail) and
    /// use the admin routes.
    pub is_operator: bool,
    /// An operator key with the `viewer` role: it reads what an operator
    /// reads and changes nothing (no request, approval, deletion, ...).
    pub read_only: bool,
}

impl Caller {
    /// True when the caller may act for `asn`.
    pub fn may_act_for(&self, asn: u32) -> bool {
        self.is_operator || self.asns.contains(&asn)
    }

    /// True when the caller may change something (everyone but a viewer).
    pub fn may_change(&self) -> bool {
        !self.read_only
    }
}

/// What a job asks the worker to do with one session.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum JobKind {
    /// Put the neighbor on the router (idempotent).
    Provision,
    /// Remove the neighbor from the router (idempotent), then the session.
    Deprovision,
    /// Remove the neighbor because the time window passed (-> Unestablished).
    Expire,
    /// Re-push the neighbor of a configured session in the form it should
    /// have now ([`Session::form`]): drained, shut down (maintenance), or
    /// back to normal; no status change.
    Refresh,
}

/// A lease on a claimed job.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Lease {
    pub owner: String,
    /// Random token; complete/fail must present it.
    pub token: u64,
    pub until_ms: UnixMillis,
}

/// A queued unit of work for the worker.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub job_id: u64,
    pub session_id: SessionId,
    pub router: String,
    pub kind: JobKind,
    pub attempts: u32,
    /// Not claimable before this time (retry backoff).
    pub not_before_ms: UnixMillis,
    pub lease: Option<Lease>,
    pub last_error: Option<String>,
    pub created_ms: UnixMillis,
}

impl Job {
    /// A new job for `session_id` on `router`, never tried nor claimed,
    /// claimable from `not_before_ms`.
    pub fn fresh(
        job_id: u64,
        session_id: &str,
        router: &str,
        kind: JobKind,
        not_before_ms: UnixMillis,
        now: UnixMillis,
    ) -> Job {
        Job {
            job_id,
            session_id: session_id.to_string(),
            router: router.to_string(),
            kind,
            attempts: 0,
            not_before_ms,
            lease: None,
            last_error: None,
            created_ms: now,
        }
    }
}

/// One audit record: who did what to which session, when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuditEvent {
    pub at_ms: UnixMillis,
    pub session_id: SessionId,
    /// `pdb:<user id>`, `operator:<name>`, `policy`, `worker`, `poller`.
    pub actor: String,
    /// Short verb: `created`, `transition`, `push`, `delete`, ...
    pub action: String,
    pub from: Option<SessionStatus>,
    pub to: Option<SessionStatus>,
    /// Free text; never contains secrets.
    pub detail: Option<String>,
}

/// A peering request as received (one POST).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestRecord {
    pub request_id: RequestId,
    pub requester_asn: Asn,
    pub created_by: String,
    pub created_ms: UnixMillis,
    pub return_url: Option<String>,
    pub session_ids: Vec<SessionId>,
}

#[cfg(test)]
mod tests {
    #[test]
    fn id_text_is_the_hyphenated_hex_and_id_bytes_reads_it_back() {
        for seed in 0u8..=255 {
            let b: [u8; 16] =
                std::array::from_fn(|i| seed.wrapping_mul(31).wrapping_add(i as u8 * 17));
            let t = super::id_text(&b);
            let h = hex::encode(b);
            let want = format!(
                "{}-{}-{}-{}-{}",
                &h[0..8],
                &h[8..12],
                &h[12..16],
                &h[16..20],
                &h[20..]
            );
            assert_eq!(t, want);
            assert!(super::is_id(&t));
            assert_eq!(super::id_bytes(&t), Some(b));
        }
    }

    use super::*;

    #[test]
    fn reserved_and_private_asns() {
        assert!(Asn(0).is_reserved());
        assert!(Asn(23456).is_reserved());
        assert!(Asn(64496).is_reserved());
        assert!(Asn(65535).is_reserved());
        assert!(!Asn(64512).is_reserved());
        assert!(Asn(64512).is_private());
        assert!(Asn(4200000000).is_private());
        assert!(!Asn(13335).is_private());
        assert!(!Asn(13335).is_reserved());
    }

    #[test]
    fn transitions_follow_the_table() {
        use SessionStatus::*;
        assert!(Pending.can_transition_to(Approved));
        assert!(Approved.can_transition_to(Provisioning));
        assert!(Provisioning.can_transition_to(Configured));
        assert!(Configured.can_transition_to(Established));
        assert!(!Rejected.can_transition_to(Approved));
        assert!(!Pending.can_transition_to(Configured));
        assert!(!Deleting.can_transition_to(Approved));
        for s in SessionStatus::ALL {
            assert!(!s.can_transition_to(s), "{s} -> {s} must not be allowed");
            assert_eq!(SessionStatus::parse(s.as_str()), Some(s));
        }
    }

    #[test]
    fn ids_have_uuid_shape() {
        let a = new_id();
        assert!(is_id(&a), "{a}");
        assert_ne!(a, new_id());
        assert!(!is_id("../etc/passwd"));
    }

    #[test]
    fn ids_are_version_7_and_sort_by_time() {
        let r = [0xffu8; 10];
        let id = id_at(0x0123_4567_89ab, r);
        assert_eq!(id, "01234567-89ab-7fff-bfff-ffffffffffff");
        assert!(is_id(&id));
        // later milliseconds sort after, whatever the random bits
        let (a, b) = (id_at(1_000, [0xff; 10]), id_at(1_001, [0; 10]));
        assert!(a < b, "{a} {b}");
        let now = new_id();
        assert_eq!(&now[14..15], "7");
        assert!(matches!(&now[19..20], "8" | "9" | "a" | "b"), "{now}");
    }

    #[test]
    fn older_records_are_inbound_and_inbound_records_stay_as_they_were() {
        let ip = |s: &str| s.parse().unwrap();
        let s = Session::sample(
            "r",
            "pdb:ix:1",
            (65002, ip("192.0.2.2")),
            (65001, ip("192.0.2.1")),
        );
        let mut v = serde_json::to_value(&s).unwrap();
        // an inbound record is written exactly as before the asking side
        assert!(
            v.get("direction").is_none() && v.get("remote").is_none(),
            "{v}"
        );
        v.as_object_mut().unwrap().remove("pushed");
        let back: Session = serde_json::from_value(v).unwrap();
        assert_eq!(back.direction, Direction::Inbound);
        assert_eq!(back.remote, None);
        let mut o = s;
        o.direction = Direction::Outbound;
        o.remote = Some(RemoteState::default());
        let v = serde_json::to_value(&o).unwrap();
        assert_eq!(v["direction"], "outbound");
        assert_eq!(v["remote"]["phase"], "sending");
        assert_eq!(serde_json::from_value::<Session>(v).unwrap(), o);
        assert_eq!(Direction::parse("OUTBOUND"), Some(Direction::Outbound));
        assert_eq!(Direction::parse("sideways"), None);
    }

    #[test]
    fn secret_debug_is_redacted() {
        let s = Secret::new("hunter2");
        assert!(!format!("{s:?}").contains("hunter2"));
    }
}
