//! `kuaifan console`: a dispatcher's terminal console over gRPC. Each
//! subcommand is one call (or a stream, for `watch`); the answer is shown
//! as a table for people, or with `--json` as one JSON object per line.

mod show;

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Result, anyhow, bail};
use kuaifan_engine::service::proto;
use kuaifan_engine::service::proto::dispatch_client::DispatchClient;
use kuaifan_engine::service::{RetryPolicy, Servers, new_request_id};
use tokio_stream::StreamExt;
use tonic::transport::Channel;

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The server: `http://host:port`, or `https://host:port` with --ca.
    /// With hot standbys, every node's, separated by commas: commands go
    /// to the node that leads (a standby's refusal names it).
    #[arg(long, default_value = "http://127.0.0.1:50051", global = true)]
    addr: String,
    /// Bearer token, when the server uses --auth.
    #[arg(long, env = "KUAIFAN_TOKEN", hide_env_values = true, global = true)]
    token: Option<String>,
    /// CA certificate (PEM) to trust for https.
    #[arg(long, value_name = "FILE", global = true)]
    ca: Option<PathBuf>,
    /// One JSON object per answer or event, for scripts.
    #[arg(long, global = true)]
    json: bool,
    /// Seconds each call may take.
    #[arg(long, default_value_t = 10.0, global = true)]
    timeout: f64,
    /// Hours from UTC for the times shown (Jincheng: +8, China Standard
    /// Time).
    #[arg(
        long,
        default_value_t = 8,
        global = true,
        allow_negative_numbers = true
    )]
    utc_offset: i64,
    #[command(subcommand)]
    command: ConsoleCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ConsoleCommand {
    /// Report an incident and show what to send.
    Report {
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        #[arg(long, allow_negative_numbers = true)]
        lng: f64,
        /// P1, P2 or P3.
        #[arg(long, value_parser = parse_priority)]
        priority: proto::Priority,
        #[arg(long, default_value = "")]
        category: String,
        #[arg(long, default_value = "")]
        description: String,
        /// The call's reference number.
        #[arg(long, default_value = "")]
        caller_ref: String,
        /// Confirm the recommended units at once.
        #[arg(long)]
        auto_assign: bool,
    },
    /// What would be sent to a location; changes nothing.
    Recommend {
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        #[arg(long, allow_negative_numbers = true)]
        lng: f64,
        #[arg(long, value_parser = parse_priority)]
        priority: proto::Priority,
        /// `closest` or `coverage`; the server's own without it.
        #[arg(long, value_parser = parse_policy)]
        policy: Option<proto::Policy>,
    },
    /// Send units to an incident: `U18` (the first handles if the case
    /// has no handling unit, the rest support), `U19:support`,
    /// `U20:encircle@35.49,112.84` (the exit to hold); or, with
    /// `--recommended`, the case's recommendation as it is shown.
    Confirm {
        incident: String,
        #[arg(required_unless_present = "recommended", value_parser = parse_confirmed)]
        units: Vec<Confirmed>,
        /// Ask for the case's recommendation, show it, and confirm it with
        /// the tiers and goals shown.
        #[arg(long, conflicts_with = "units")]
        recommended: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Move an incident to its next stage: registered, handling, feedback,
    /// closed.
    Advance {
        incident: String,
        #[arg(value_parser = parse_stage)]
        stage: proto::Stage,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// One incident, its history and its units.
    Incident { id: String },
    /// The incidents, live and archived, a page at a time (oldest first).
    Incidents {
        /// Only those not yet closed.
        #[arg(long)]
        open: bool,
        /// Only those at this stage (repeat for several).
        #[arg(long, value_parser = parse_stage)]
        stage: Vec<proto::Stage>,
        /// Only those of this priority (repeat for several).
        #[arg(long, value_parser = parse_priority)]
        priority: Vec<proto::Priority>,
        /// Only those in this patrol zone (repeat for several).
        #[arg(long)]
        zone: Vec<String>,
        /// Only those reported in the last M minutes.
        #[arg(long, value_name = "M", conflicts_with = "from_ms")]
        since_minutes: Option<u32>,
        /// Only those reported at or after this time (ms since the epoch).
        #[arg(long, value_name = "MS")]
        from_ms: Option<i64>,
        /// Only those reported before this time (ms since the epoch).
        #[arg(long, value_name = "MS")]
        before_ms: Option<i64>,
        /// Latest first.
        #[arg(long)]
        newest: bool,
        /// At most this many (the server allows up to 1000).
        #[arg(long, value_name = "N", default_value_t = 50)]
        limit: u32,
        /// Continue where a page ended (the token it printed).
        #[arg(long, value_name = "TOKEN", default_value = "")]
        page: String,
    },
    /// The units, their status and position.
    Units,
    /// The patrol zones.
    Zones,
    /// Set a unit's status: available, returning, out-of-service, or
    /// on-scene (its arrival).
    Status {
        unit: String,
        #[arg(value_parser = parse_unit_status)]
        status: proto::UnitStatus,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// How much of the city is covered, and the worst zones.
    Coverage {
        /// How many zones to list, worst first.
        #[arg(long, default_value_t = 5)]
        worst: usize,
    },
    /// Every change, live, until Ctrl-C.
    Watch,
    /// Move-up advice now (动中备勤): which free units should shift to
    /// which posts, and what each move buys.
    Moveups,
    /// Accept a move-up: the unit's standby point becomes the post.
    AcceptMoveup {
        unit: String,
        /// The post's id, as `moveups` shows it.
        post: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Release a unit from the post it was moved to: its own standby
    /// point again.
    ReleaseMoveup {
        unit: String,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// A containment plan (三层查控圈) for a suspect fleeing by car from
    /// an incident, or with --lockdown a lockdown (一键封控) of one ring:
    /// which responder holds which crossing, ring by ring. Changes
    /// nothing, unless --start carries it out for --incident.
    Contain {
        /// Where the suspect fled from (or give --incident; not needed for
        /// --lockdown).
        #[arg(
            long,
            allow_negative_numbers = true,
            required_unless_present_any = ["lockdown", "incident"],
            requires = "lng"
        )]
        lat: Option<f64>,
        #[arg(
            long,
            allow_negative_numbers = true,
            required_unless_present_any = ["lockdown", "incident"],
            requires = "lat"
        )]
        lng: Option<f64>,
        /// The incident the suspect fled from: its location (and, with
        /// --start, its containment).
        #[arg(long, conflicts_with_all = ["lat", "lng"])]
        incident: Option<String>,
        /// Start the containment for --incident: send its units, order its
        /// teams and posts (StartContainment).
        #[arg(long, requires = "incident", conflicts_with_all = ["seen_lat", "area"])]
        start: bool,
        /// Minutes since the suspect left (0: now; with --start, 0 is the
        /// incident's report time).
        #[arg(long, default_value_t = 0.0)]
        escaped_min_ago: f64,
        /// The suspect's speed as a multiple of the car profile's, in
        /// (0, 3].
        #[arg(long, default_value_t = 1.0)]
        speed_factor: f64,
        /// Where the suspect was last seen, with --seen-lng and
        /// --seen-min-ago.
        #[arg(long, allow_negative_numbers = true, requires_all = ["seen_lng", "seen_min_ago"])]
        seen_lat: Option<f64>,
        #[arg(long, allow_negative_numbers = true, requires = "seen_lat")]
        seen_lng: Option<f64>,
        #[arg(long, requires = "seen_lat")]
        seen_min_ago: Option<f64>,
        /// Lock down this ring instead: R1, a county code (140525), R2 or
        /// R3.
        #[arg(long)]
        lockdown: Option<String>,
        /// Also the suspect's possible area now.
        #[arg(long)]
        area: bool,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// The suspect was seen: the running containment of the incident is
    /// planned again from here, and the free responders it needs are
    /// sent.
    Sighting {
        incident: String,
        #[arg(long, allow_negative_numbers = true)]
        lat: f64,
        #[arg(long, allow_negative_numbers = true)]
        lng: f64,
        /// Minutes ago (0: now).
        #[arg(long, default_value_t = 0.0)]
        min_ago: f64,
        /// Who saw the suspect: a camera, a unit.
        #[arg(long, default_value = "")]
        source: String,
    },
    /// An incident's containment: its orders and the plan of its
    /// responders now, ring by ring.
    Containment {
        incident: String,
        /// Also the suspect's possible area now.
        #[arg(long)]
        area: bool,
    },
    /// A crossing of the incident's containment is held: its responder is
    /// there (a unit: ON_SCENE at its crossing).
    Staffed {
        incident: String,
        /// The crossing's id (X17), as `containment` shows it.
        crossing: String,
    },
    /// The suspect was caught, at a crossing or a place.
    Intercepted {
        incident: String,
        /// The crossing's id (X17).
        #[arg(long, required_unless_present = "lat")]
        crossing: Option<String>,
        #[arg(long, allow_negative_numbers = true, requires = "lng")]
        lat: Option<f64>,
        #[arg(long, allow_negative_numbers = true, requires = "lat")]
        lng: Option<f64>,
        #[arg(long, default_value = "")]
        note: String,
    },
    /// Lift the incident's containment: its units are AVAILABLE again.
    Lift {
        incident: String,
        #[arg(long, default_value = "")]
        note: String,
    },
}

fn parse_priority(text: &str) -> Result<proto::Priority, String> {
    proto::Priority::from_str_name(&text.to_uppercase())
        .filter(|p| *p != proto::Priority::Unspecified)
        .ok_or_else(|| format!("{text:?} is not P1, P2 or P3"))
}

fn parse_policy(text: &str) -> Result<proto::Policy, String> {
    proto::Policy::from_str_name(&text.to_uppercase())
        .filter(|p| *p != proto::Policy::Unspecified)
        .ok_or_else(|| format!("{text:?} is not closest or coverage"))
}

fn parse_stage(text: &str) -> Result<proto::Stage, String> {
    proto::Stage::from_str_name(&text.to_uppercase().replace('-', "_"))
        .filter(|s| *s != proto::Stage::Unspecified)
        .ok_or_else(|| format!("{text:?} is not a stage (registered, handling, feedback, closed)"))
}

fn parse_unit_status(text: &str) -> Result<proto::UnitStatus, String> {
    proto::UnitStatus::from_str_name(&text.to_uppercase().replace('-', "_"))
        .filter(|s| *s != proto::UnitStatus::Unspecified)
        .ok_or_else(|| {
            format!("{text:?} is not a status (available, returning, out-of-service, on-scene)")
        })
}

/// A connected console.
struct Console {
    /// Every node given; commands follow the leader among them.
    servers: Servers,
    /// The node reads go to: the first that could be reached.
    client: DispatchClient<Channel>,
    timeout: Duration,
    out: show::Output,
}

impl Console {
    fn request<T>(&self, message: T) -> tonic::Request<T> {
        let mut request = self.servers.request(message);
        request.set_timeout(self.timeout);
        request
    }

    /// A command call: `message` carries a new request id, and a call
    /// answered UNAVAILABLE, DEADLINE_EXCEEDED or CANCELLED is sent again
    /// with the same id (the server applies it once), to the leader a
    /// standby's refusal names or else to the next node.
    async fn command<M, R, F, Fut>(&self, message: M, send: F) -> Result<R>
    where
        M: Clone,
        F: Fn(DispatchClient<Channel>, tonic::Request<M>) -> Fut,
        Fut: std::future::Future<Output = Result<tonic::Response<R>, tonic::Status>>,
    {
        RetryPolicy::default()
            .run_on(&self.servers, |channel| {
                send(DispatchClient::new(channel), self.request(message.clone()))
            })
            .await
            .map(tonic::Response::into_inner)
            .map_err(refused)
    }
}

/// A unit on the command line of `confirm`: an id, or an id with a tier
/// (and, for ENCIRCLE, the exit to hold).
#[derive(Clone, Debug)]
enum Confirmed {
    /// The dispatcher's pick by id.
    Picked(String),
    /// A unit with its tier and goal.
    Shown(proto::ConfirmedUnit),
}

fn parse_confirmed(text: &str) -> Result<Confirmed, String> {
    let Some((unit, rest)) = text.split_once(':') else {
        return Ok(Confirmed::Picked(text.to_string()));
    };
    let (tier, goal) = match rest.split_once('@') {
        Some((tier, at)) => {
            let (lat, lng) = at
                .split_once(',')
                .and_then(|(a, b)| Some((a.trim().parse().ok()?, b.trim().parse().ok()?)))
                .ok_or_else(|| format!("{text}: the goal after @ is not LAT,LNG"))?;
            (tier, Some(proto::LatLng { lat, lng }))
        }
        None => (rest, None),
    };
    let tier = proto::Tier::from_str_name(&tier.to_ascii_uppercase())
        .filter(|t| *t != proto::Tier::Unspecified)
        .ok_or_else(|| format!("{text}: {tier:?} is not handle, support or encircle"))?;
    Ok(Confirmed::Shown(proto::ConfirmedUnit {
        unit_id: unit.to_string(),
        tier: tier as i32,
        goal,
    }))
}

/// A refused call as the dispatcher reads it: `NOT_FOUND: no incident 99`.
fn refused(status: tonic::Status) -> anyhow::Error {
    anyhow!("{}: {}", show::code_name(status.code()), status.message())
}

pub fn run(args: &Args) -> Result<()> {
    let timeout = Duration::try_from_secs_f64(args.timeout)
        .ok()
        .filter(|t| !t.is_zero())
        .ok_or_else(|| {
            anyhow!(
                "--timeout {} is not a positive number of seconds",
                args.timeout
            )
        })?;
    let servers = Servers::parse(&args.addr, args.token.clone(), args.ca.clone())?;
    let out = show::Output {
        json: args.json,
        utc_offset_h: args.utc_offset,
    };
    let runtime = kuaifan_engine::service::runtime(1, "kuaifan-console")?;
    runtime.block_on(async {
        let channel = servers.channel().await?;
        let console = Console {
            client: DispatchClient::new(channel),
            servers,
            timeout,
            out,
        };
        console.run(&args.command).await
    })
}

impl Console {
    async fn run(mut self, command: &ConsoleCommand) -> Result<()> {
        match command {
            ConsoleCommand::Report {
                lat,
                lng,
                priority,
                category,
                description,
                caller_ref,
                auto_assign,
            } => {
                let message = proto::ReportIncidentRequest {
                    location: Some(proto::LatLng {
                        lat: *lat,
                        lng: *lng,
                    }),
                    priority: *priority as i32,
                    category: category.clone(),
                    description: description.clone(),
                    caller_ref: caller_ref.clone(),
                    auto_assign: *auto_assign,
                    with_routes: false,
                    request_id: new_request_id(),
                    with_move_ups: true,
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.report_incident(request).await
                    })
                    .await?;
                self.out.reported(&answer);
            }
            ConsoleCommand::Contain {
                incident: Some(incident),
                start: true,
                escaped_min_ago,
                speed_factor,
                lockdown,
                note,
                ..
            } => {
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let message = proto::StartContainmentRequest {
                    incident_id: incident.clone(),
                    escape_time_ms: if *escaped_min_ago == 0.0 {
                        0
                    } else {
                        now_ms - (escaped_min_ago * 60_000.0).round() as i64
                    },
                    speed_factor: *speed_factor,
                    lockdown_ring: lockdown.clone().unwrap_or_default(),
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.start_containment(request).await
                    })
                    .await?;
                self.out.running(&answer);
            }
            ConsoleCommand::Sighting {
                incident,
                lat,
                lng,
                min_ago,
                source,
            } => {
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let message = proto::ReportSightingRequest {
                    incident_id: incident.clone(),
                    sighting: Some(proto::Sighting {
                        location: Some(proto::LatLng {
                            lat: *lat,
                            lng: *lng,
                        }),
                        time_ms: now_ms - (min_ago * 60_000.0).round() as i64,
                    }),
                    source: source.clone(),
                    request_id: new_request_id(),
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.report_sighting(request).await
                    })
                    .await?;
                self.out.running(&answer);
            }
            ConsoleCommand::Containment { incident, area } => {
                let request = self.request(proto::GetContainmentRequest {
                    incident_id: incident.clone(),
                    with_possible_area: *area,
                });
                let answer = self
                    .client
                    .get_containment(request)
                    .await
                    .map_err(refused)?;
                self.out.running(&answer.into_inner());
            }
            ConsoleCommand::Staffed { incident, crossing } => {
                let message = proto::MarkCrossingStaffedRequest {
                    incident_id: incident.clone(),
                    crossing_id: crossing.clone(),
                    request_id: new_request_id(),
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.mark_crossing_staffed(request).await
                    })
                    .await?;
                self.out.running(&answer);
            }
            ConsoleCommand::Intercepted {
                incident,
                crossing,
                lat,
                lng,
                note,
            } => {
                let message = proto::RecordInterceptionRequest {
                    incident_id: incident.clone(),
                    location: match (lat, lng) {
                        (Some(lat), Some(lng)) => Some(proto::LatLng {
                            lat: *lat,
                            lng: *lng,
                        }),
                        _ => None,
                    },
                    crossing_id: crossing.clone().unwrap_or_default(),
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.record_interception(request).await
                    })
                    .await?;
                self.out.running(&answer);
            }
            ConsoleCommand::Lift { incident, note } => {
                let message = proto::LiftContainmentRequest {
                    incident_id: incident.clone(),
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.lift_containment(request).await
                    })
                    .await?;
                self.out.running(&answer);
            }
            ConsoleCommand::Contain {
                lat,
                lng,
                incident,
                escaped_min_ago,
                speed_factor,
                seen_lat,
                seen_lng,
                seen_min_ago,
                lockdown,
                area,
                ..
            } => {
                let now_ms = std::time::SystemTime::now()
                    .duration_since(std::time::UNIX_EPOCH)
                    .map_or(0, |d| d.as_millis() as i64);
                let ago = |minutes: f64| now_ms - (minutes * 60_000.0).round() as i64;
                let location = match (lat, lng, incident) {
                    (Some(lat), Some(lng), _) => Some(proto::LatLng {
                        lat: *lat,
                        lng: *lng,
                    }),
                    // The incident's location, for a what-if around it.
                    (_, _, Some(id)) if lockdown.is_none() => {
                        let case = self.request(proto::GetIncidentRequest { id: id.clone() });
                        let case = self.client.get_incident(case).await.map_err(refused)?;
                        case.into_inner().location
                    }
                    _ => None,
                };
                let sighting = match (seen_lat, seen_lng, seen_min_ago) {
                    (Some(lat), Some(lng), Some(minutes)) => Some(proto::Sighting {
                        location: Some(proto::LatLng {
                            lat: *lat,
                            lng: *lng,
                        }),
                        time_ms: ago(*minutes),
                    }),
                    _ => None,
                };
                let request = self.request(proto::PlanContainmentRequest {
                    location,
                    escape_time_ms: if *escaped_min_ago == 0.0 {
                        0
                    } else {
                        ago(*escaped_min_ago)
                    },
                    speed_factor: *speed_factor,
                    sighting,
                    lockdown_ring: lockdown.clone().unwrap_or_default(),
                    with_possible_area: *area,
                });
                let answer = self
                    .client
                    .plan_containment(request)
                    .await
                    .map_err(refused)?;
                self.out.containment(&answer.into_inner());
            }
            ConsoleCommand::Recommend {
                lat,
                lng,
                priority,
                policy,
            } => {
                let request = self.request(proto::RecommendRequest {
                    location: Some(proto::LatLng {
                        lat: *lat,
                        lng: *lng,
                    }),
                    priority: *priority as i32,
                    with_routes: false,
                    policy: policy.map_or(0, |p| p as i32),
                    with_move_ups: true,
                });
                let answer = self.client.recommend(request).await.map_err(refused)?;
                self.out.recommendation(&answer.into_inner());
            }
            ConsoleCommand::Confirm {
                incident,
                units,
                recommended,
                note,
            } => {
                let mut message = proto::ConfirmAssignmentRequest {
                    incident_id: incident.clone(),
                    note: note.clone(),
                    request_id: new_request_id(),
                    ..Default::default()
                };
                if *recommended {
                    let case = self.request(proto::GetIncidentRequest {
                        id: incident.clone(),
                    });
                    let case = self.client.get_incident(case).await.map_err(refused)?;
                    let case = case.into_inner();
                    let ask = self.request(proto::RecommendRequest {
                        location: case.location,
                        priority: case.priority,
                        with_routes: false,
                        policy: 0,
                        with_move_ups: true,
                    });
                    let shown = self.client.recommend(ask).await.map_err(refused)?;
                    let shown = shown.into_inner();
                    self.out.recommendation(&shown);
                    message.units = shown
                        .candidates
                        .iter()
                        .map(|c| proto::ConfirmedUnit {
                            unit_id: c.unit_id.clone(),
                            tier: c.tier,
                            goal: c.goal,
                        })
                        .collect();
                } else {
                    for unit in units {
                        match unit {
                            Confirmed::Picked(id) => message.unit_ids.push(id.clone()),
                            Confirmed::Shown(u) => message.units.push(u.clone()),
                        }
                    }
                }
                let sent = RetryPolicy::default()
                    .run_on(&self.servers, |channel| {
                        let mut client = DispatchClient::new(channel);
                        let request = self.request(message.clone());
                        async move { client.confirm_assignment(request).await }
                    })
                    .await;
                match sent {
                    Ok(answer) => self.out.incident(&answer.into_inner()),
                    Err(status) => {
                        // A confirmation that no longer holds comes back
                        // with what to send now.
                        if let Some(fresh) = kuaifan_engine::service::fresh_recommendation(&status)
                        {
                            self.out.recommendation(&fresh);
                        }
                        return Err(refused(status));
                    }
                }
            }
            ConsoleCommand::Advance {
                incident,
                stage,
                note,
            } => {
                let message = proto::AdvanceIncidentRequest {
                    incident_id: incident.clone(),
                    to: *stage as i32,
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.advance_incident(request).await
                    })
                    .await?;
                self.out.incident(&answer);
            }
            ConsoleCommand::Incident { id } => {
                let request = self.request(proto::GetIncidentRequest { id: id.clone() });
                let answer = self.client.get_incident(request).await.map_err(refused)?;
                self.out.incident(&answer.into_inner());
            }
            ConsoleCommand::Incidents {
                open,
                stage,
                priority,
                zone,
                since_minutes,
                from_ms,
                before_ms,
                newest,
                limit,
                page,
            } => {
                let since = since_minutes.map(|m| {
                    let now = std::time::SystemTime::now()
                        .duration_since(std::time::UNIX_EPOCH)
                        .map_or(0, |d| i64::try_from(d.as_millis()).unwrap_or(i64::MAX));
                    now.saturating_sub(i64::from(m) * 60_000).max(1)
                });
                let request = self.request(proto::ListIncidentsRequest {
                    open_only: *open,
                    page_size: *limit,
                    page_token: page.clone(),
                    stages: stage.iter().map(|s| *s as i32).collect(),
                    priorities: priority.iter().map(|p| *p as i32).collect(),
                    reported_from_ms: since.or(*from_ms).unwrap_or(0),
                    reported_before_ms: before_ms.unwrap_or(0),
                    zone_ids: zone.clone(),
                    newest_first: *newest,
                });
                let answer = self.client.list_incidents(request).await.map_err(refused)?;
                let answer = answer.into_inner();
                self.out
                    .incidents(&answer.incidents, &answer.next_page_token);
            }
            ConsoleCommand::Units => {
                let request = self.request(proto::ListUnitsRequest {});
                let answer = self.client.list_units(request).await.map_err(refused)?;
                self.out.units(&answer.into_inner().units);
            }
            ConsoleCommand::Zones => {
                let request = self.request(proto::ListZonesRequest {});
                let answer = self.client.list_zones(request).await.map_err(refused)?;
                self.out.zones(&answer.into_inner().zones);
            }
            ConsoleCommand::Status { unit, status, note } => {
                let message = proto::SetUnitStatusRequest {
                    unit_id: unit.clone(),
                    status: *status as i32,
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.set_unit_status(request).await
                    })
                    .await?;
                self.out.units(&[answer]);
            }
            ConsoleCommand::Coverage { worst } => {
                let request = self.request(proto::GetCoverageRequest { resolution: 0 });
                let answer = self.client.get_coverage(request).await.map_err(refused)?;
                self.out.coverage(&answer.into_inner(), *worst);
            }
            ConsoleCommand::Watch => self.watch().await?,
            ConsoleCommand::Moveups => {
                let request = self.request(proto::GetMoveUpsRequest {});
                let answer = self.client.get_move_ups(request).await.map_err(refused)?;
                self.out.move_ups(&answer.into_inner());
            }
            ConsoleCommand::AcceptMoveup { unit, post, note } => {
                let message = proto::AcceptMoveUpRequest {
                    unit_id: unit.clone(),
                    post_id: post.clone(),
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.accept_move_up(request).await
                    })
                    .await?;
                self.out.moved(&answer);
            }
            ConsoleCommand::ReleaseMoveup { unit, note } => {
                let message = proto::ReleaseMoveUpRequest {
                    unit_id: unit.clone(),
                    note: note.clone(),
                    request_id: new_request_id(),
                };
                let answer = self
                    .command(message, |mut client, request| async move {
                        client.release_move_up(request).await
                    })
                    .await?;
                self.out.moved(&answer);
            }
        }
        Ok(())
    }

    async fn watch(&mut self) -> Result<()> {
        // A watch has no deadline: it runs until Ctrl-C or the server ends it.
        let request = self.servers.request(proto::WatchEventsRequest {});
        let mut events = self
            .client
            .watch_events(request)
            .await
            .map_err(refused)?
            .into_inner();
        if !self.out.json {
            eprintln!("watching {} (Ctrl-C to stop)", self.servers.current().addr);
        }
        loop {
            tokio::select! {
                next = events.next() => match next {
                    Some(Ok(event)) => self.out.event(&event),
                    Some(Err(status)) => return Err(refused(status)),
                    None => bail!("the server ended the watch (it is shutting down)"),
                },
                _ = tokio::signal::ctrl_c() => return Ok(()),
            }
        }
    }
}
