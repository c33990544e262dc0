//! `kuaifan-sim drill`: the command line over [`kuaifan_sim::drill`].

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use kuaifan_engine::service::Servers;
use kuaifan_engine::{
    ContainmentConfig, DispatchConfig, EncircleConfig, Policy, Scenario, ScenarioOverrides,
    ScenarioSource, World,
};
use kuaifan_sim::drill::{
    Arm, DEFAULT_P3_TARGET_S, DrillConfig, DrillSummary, EscapeModel, JournalSink, LiveLink,
    OnScene, PriorityMix, RoutineResponder, SuspectsConfig, SweepConfig, compare_arms,
    containment_html, html, read_script, replay_2020, run, run_into_journal, run_live, sweep,
};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The scenario directory; without it, the built-in Jincheng scenario.
    #[arg(long, value_name = "DIR")]
    scenario: Option<PathBuf>,
    /// The seed of the day's calls and the units' patrols.
    #[arg(long, default_value_t = 356)]
    seed: u64,
    /// Simulated hours.
    #[arg(long, default_value_t = 24.0)]
    hours: f64,
    /// Calls a day on average; without it, the zones' incident rates.
    #[arg(long)]
    calls_per_day: Option<f64>,
    /// `coverage` or `closest`.
    #[arg(long, default_value = "coverage", value_parser = parse_policy)]
    policy: Policy,
    /// The priority mix as P1,P2,P3 shares (any scale).
    #[arg(long, default_value = "5,35,60", value_parser = parse_mix)]
    priorities: PriorityMix,
    /// Who answers routine (P3) calls: `stations` (the police stations'
    /// own officers, taking no rapid-response unit) or `units` (dispatched
    /// as P1 and P2 calls).
    #[arg(long, default_value = "stations", value_parser = parse_responder)]
    p3: RoutineResponder,
    /// The target for a P3 call's first response, seconds.
    #[arg(long, default_value_t = DEFAULT_P3_TARGET_S, value_parser = clap::value_parser!(u32).range(1..=86_400))]
    p3_target: u32,
    /// Seconds from a call to the dispatcher's confirmation.
    #[arg(long, default_value_t = 20.0)]
    confirm_delay: f64,
    /// Seconds from confirmation to the unit rolling.
    #[arg(long, default_value_t = 10.0)]
    turnout: f64,
    /// Median time on scene, seconds.
    #[arg(long, default_value_t = 900.0)]
    on_scene_median: f64,
    /// A rehearsed drill: the calls from this CSV file
    /// (`time_s,lat,lng,priority[,on_scene_s]`) instead of a random day.
    #[arg(long, value_name = "FILE")]
    script: Option<PathBuf>,
    /// A live drill: also send every command to the `kuaifan serve` at
    /// this address (`http://host:port`; with hot standbys, every node's,
    /// separated by commas), paced by the wall clock. The server should be
    /// fresh (no other drill or console on it).
    #[arg(long, value_name = "ADDR")]
    live: Option<String>,
    /// Also write every command into this journal (a new SQLite file)
    /// through a dispatch engine, as `kuaifan serve --journal` would keep
    /// it (sampled fixes, snapshots): with `--hours 720`, the journal of
    /// 30 days. The server then starts on it.
    #[arg(long, value_name = "FILE", conflicts_with_all = ["live", "compare"])]
    journal: Option<PathBuf>,
    /// Simulated seconds per real second in a live drill.
    #[arg(long, default_value_t = 1.0)]
    speed: f64,
    /// Bearer token (a dispatcher's) for a live drill.
    #[arg(long, env = "KUAIFAN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// CA certificate (PEM) to trust for an https live drill.
    #[arg(long, value_name = "FILE")]
    ca: Option<PathBuf>,
    /// Compare two ways of dispatching on --seeds seeds: each a policy
    /// (`closest` or `coverage`), optionally with `:all-exits` for the
    /// encirclement without budget (every exit, no reserve) or
    /// `:move-up` for a dispatcher taking every move-up advised, e.g.
    /// `closest,coverage`, `coverage:all-exits,coverage` or
    /// `coverage,coverage:move-up`.
    #[arg(long, value_name = "A,B")]
    compare: Option<String>,
    /// The dispatcher accepts every move-up the engine advises, after
    /// every dispatch, case closed and ring released.
    #[arg(long)]
    move_up: bool,
    /// `all-exits`: encircle without the scenario's `[encircle]` budget
    /// (every exit held, no reserve kept), as kuaifan did before it.
    #[arg(long, value_name = "all-exits")]
    encircle: Option<String>,
    /// Free units a containment never orders out, instead of the
    /// scenario's `[containment] reserve` (8 for Jincheng); 0 lets a plan
    /// take every free unit.
    #[arg(long, value_name = "N")]
    containment_reserve: Option<usize>,
    /// Seeds for --compare (default 5) or flights for --containment
    /// (default 100), from --seed on.
    #[arg(long)]
    seeds: Option<u64>,
    /// The containment drill: one fleeing suspect per seed, chased once
    /// per report delay with and without camera sightings, the
    /// interception rate against the delay as a table.
    #[arg(long, conflicts_with_all = ["live", "journal", "compare", "script"])]
    containment: bool,
    /// Report delays for --containment, minutes.
    #[arg(long, value_name = "MIN,MIN,…", default_value = "0,5,15,30,60,90")]
    delays: String,
    /// Seconds from a camera's plate read to the command center.
    #[arg(long, default_value_t = 30.0)]
    detection_delay: f64,
    /// How many times likelier a suspect heads into Henan than elsewhere.
    #[arg(long, default_value_t = 3.0)]
    henan_weight: f64,
    /// The share of suspects who take a detour.
    #[arg(long, default_value_t = 0.25)]
    detour_share: f64,
    /// The suspects' speed as a multiple of the car profile's.
    #[arg(long, default_value_t = 1.0)]
    speed_factor: f64,
    /// The share of the day's P1 calls whose suspects flee by car, each
    /// chased with the fleet as the day has it at the call (0 for none).
    #[arg(long, default_value_t = 0.3)]
    suspect_share: f64,
    /// The median from a suspect's escape to the call, minutes (the delay
    /// is log-normal, σ 1: a tenth of the calls come after 3.6 times it).
    #[arg(long, default_value_t = 5.0)]
    report_delay_median: f64,
    /// The 2020 case replayed: a robbery in the core, the call 70 minutes
    /// after the escape, the car driving to Jiaozuo.
    #[arg(long, conflicts_with_all = ["live", "journal", "compare", "script", "containment"])]
    replay_2020: bool,
    /// Write the report (HTML with its plots and the map of the day) here.
    #[arg(long, value_name = "FILE")]
    html: Option<PathBuf>,
    /// Also write the figures as JSON here.
    #[arg(long, value_name = "FILE")]
    json: Option<PathBuf>,
}

fn parse_responder(text: &str) -> Result<RoutineResponder, String> {
    match text.trim() {
        "stations" => Ok(RoutineResponder::Stations),
        "units" => Ok(RoutineResponder::Units),
        other => Err(format!(
            "{other:?} does not answer P3 calls: use stations or units"
        )),
    }
}

fn parse_policy(text: &str) -> Result<Policy, String> {
    match text.trim() {
        "coverage" => Ok(Policy::Coverage),
        "closest" => Ok(Policy::Closest),
        other => Err(format!(
            "{other:?} is not a policy: use coverage or closest"
        )),
    }
}

/// A `--compare` arm: a policy, whether it encircles every exit, and
/// whether it takes move-up advice.
#[derive(Clone, Copy, Debug, PartialEq)]
struct ArmSpec {
    policy: Policy,
    every_exit: bool,
    move_up: bool,
}

fn parse_arm(text: &str) -> Result<ArmSpec, String> {
    let mut parts = text.trim().split(':');
    let policy = parse_policy(parts.next().unwrap_or_default())?;
    let mut spec = ArmSpec {
        policy,
        every_exit: false,
        move_up: false,
    };
    for variant in parts {
        match variant {
            "all-exits" => spec.every_exit = true,
            "move-up" => spec.move_up = true,
            other => {
                return Err(format!(
                    "{other:?} in {text:?}: the variants are all-exits and move-up, e.g. \
                     coverage:all-exits or coverage:move-up"
                ));
            }
        }
    }
    Ok(spec)
}

fn parse_mix(text: &str) -> Result<PriorityMix, String> {
    let shares: Vec<f64> = text
        .split(',')
        .map(|s| s.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| format!("{text:?} is not three numbers P1,P2,P3"))?;
    match shares[..] {
        [p1, p2, p3]
            if [p1, p2, p3].iter().all(|s| s.is_finite() && *s >= 0.0) && p1 + p2 + p3 > 0.0 =>
        {
            Ok(PriorityMix { p1, p2, p3 })
        }
        _ => Err(format!(
            "{text:?} is not three shares P1,P2,P3, not negative, not all zero"
        )),
    }
}

fn parse_delays(text: &str) -> Result<Vec<f64>> {
    let delays: Vec<f64> = text
        .split(',')
        .map(|d| d.trim().parse::<f64>())
        .collect::<Result<_, _>>()
        .map_err(|_| anyhow::anyhow!("--delays {text:?} is not minutes separated by commas"))?;
    if delays.is_empty() || delays.iter().any(|d| !d.is_finite() || *d < 0.0) {
        bail!("--delays {text:?}: give minutes, none negative, e.g. 0,5,15,30,60,90");
    }
    Ok(delays)
}

fn share(value: f64, what: &str) -> Result<f64> {
    if (0.0..=1.0).contains(&value) {
        Ok(value)
    } else {
        bail!("{what} {value} is not a share between 0 and 1")
    }
}

fn speed_factor(value: f64) -> Result<f64> {
    if value > 0.0 && value <= kuaifan_engine::MAX_SPEED_FACTOR {
        Ok(value)
    } else {
        bail!(
            "--speed-factor {value} is outside (0, {}]",
            kuaifan_engine::MAX_SPEED_FACTOR
        )
    }
}

fn positive(value: f64, what: &str) -> Result<f64> {
    if value.is_finite() && value >= 0.0 {
        Ok(value)
    } else {
        bail!("{what} {value} is not a non-negative number")
    }
}

pub fn run_drill(args: &Args) -> Result<()> {
    let config = DrillConfig {
        seed: args.seed,
        hours: positive(args.hours, "--hours")?,
        calls_per_day: args
            .calls_per_day
            .map(|c| positive(c, "--calls-per-day"))
            .transpose()?,
        confirm_delay_s: positive(args.confirm_delay, "--confirm-delay")?,
        turnout_s: positive(args.turnout, "--turnout")?,
        on_scene: OnScene {
            median_s: positive(args.on_scene_median, "--on-scene-median")?,
            ..DrillConfig::default().on_scene
        },
        policy: args.policy,
        mix: args.priorities,
        move_up: args.move_up,
        p3: args.p3,
        p3_target_s: args.p3_target,
        suspects: match share(args.suspect_share, "--suspect-share")? {
            0.0 => None,
            suspect_share => Some(SuspectsConfig {
                share: suspect_share,
                escape: EscapeModel {
                    henan_weight: positive(args.henan_weight, "--henan-weight")?,
                    detour_share: share(args.detour_share, "--detour-share")?,
                    speed_factor: speed_factor(args.speed_factor)?,
                    ..EscapeModel::default()
                },
                report_delay_median_s: positive(args.report_delay_median, "--report-delay-median")?
                    * 60.0,
                detection_delay_s: positive(args.detection_delay, "--detection-delay")?,
                ..SuspectsConfig::default()
            }),
        },
        ..DrillConfig::default()
    };
    let source = match &args.scenario {
        Some(dir) => ScenarioSource::Dir(dir.clone()),
        None => kuaifan_engine::jincheng(),
    };
    let scenario = Scenario::from_source(&source, &ScenarioOverrides::default(), &mut |_| {})
        .context("loading the scenario")?;
    let all_exits = match args.encircle.as_deref() {
        None => false,
        Some("all-exits") => true,
        Some(other) => bail!("--encircle {other:?}: the only value is all-exits"),
    };
    let mut world = World::from_scenario(scenario, DispatchConfig::default());
    if all_exits {
        world = world.with_encircle(EncircleConfig::UNBOUNDED);
    }
    if let Some(reserve) = args.containment_reserve {
        world = world.with_containment(ContainmentConfig { reserve });
    }
    let world = Arc::new(world);
    let mut config = config;
    if let Some(path) = &args.script {
        let text =
            std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
        let calls = read_script(&text, world.scenario(), config.on_scene.median_s)
            .with_context(|| path.display().to_string())?;
        println!("{} calls from {}", calls.len(), path.display());
        config.script = Some(calls);
    }
    if args.replay_2020 {
        let replay = replay_2020(&world, positive(args.detection_delay, "--detection-delay")?)
            .context("the 2020 replay needs the Jincheng scenario's border and core")?;
        print!("{}", replay.describe(&world));
        if let Some(path) = &args.json {
            let json = serde_json::json!({
                "without_sightings": replay.without_sightings,
                "with_sightings": replay.with_sightings,
            });
            std::fs::write(path, serde_json::to_string_pretty(&json)? + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(());
    }
    if args.containment {
        let config = SweepConfig {
            seeds: (0..args.seeds.unwrap_or(100))
                .map(|k| args.seed + k)
                .collect(),
            delays_min: parse_delays(&args.delays)?,
            escape: EscapeModel {
                henan_weight: positive(args.henan_weight, "--henan-weight")?,
                detour_share: share(args.detour_share, "--detour-share")?,
                speed_factor: speed_factor(args.speed_factor)?,
                ..EscapeModel::default()
            },
            detection_delay_s: positive(args.detection_delay, "--detection-delay")?,
        };
        let started = std::time::Instant::now();
        let sweep = sweep(&world, &config);
        println!("{sweep}");
        println!(
            "ran {} chases in {:.1} s",
            sweep.flights * sweep.rows.len(),
            started.elapsed().as_secs_f64()
        );
        if let Some(path) = &args.html {
            std::fs::write(path, containment_html(&sweep))
                .with_context(|| format!("writing {}", path.display()))?;
            println!("report: {}", path.display());
        }
        if let Some(path) = &args.json {
            std::fs::write(path, serde_json::to_string_pretty(&sweep)? + "\n")
                .with_context(|| format!("writing {}", path.display()))?;
        }
        return Ok(());
    }
    let report = match &args.compare {
        Some(pair) => {
            let Some((a, b)) = pair.split_once(',') else {
                bail!("--compare {pair:?}: give two policies, e.g. closest,coverage");
            };
            if all_exits {
                bail!(
                    "--encircle with --compare: name all-exits in an arm, e.g. coverage:all-exits"
                );
            }
            let mut arms = Vec::new();
            for text in [a, b] {
                let spec = parse_arm(text).map_err(anyhow::Error::msg)?;
                let world = if spec.every_exit {
                    // A second world: the budget is the world's, and the
                    // two arms run the same calls on the same map.
                    let scenario =
                        Scenario::from_source(&source, &ScenarioOverrides::default(), &mut |_| {})
                            .context("loading the scenario")?;
                    Arc::new(
                        World::from_scenario(scenario, DispatchConfig::default())
                            .with_encircle(EncircleConfig::UNBOUNDED)
                            .with_containment(world.containment()),
                    )
                } else {
                    world.clone()
                };
                arms.push(Arm {
                    name: text.trim().to_string(),
                    world,
                    policy: spec.policy,
                    move_up: spec.move_up,
                });
            }
            let Ok(arms) = <[Arm; 2]>::try_from(arms) else {
                bail!("--compare {pair:?}: give two arms");
            };
            let seeds: Vec<u64> = (0..args.seeds.unwrap_or(5).max(2))
                .map(|k| args.seed + k)
                .collect();
            let comparison = compare_arms(&arms, &config, &seeds);
            println!("{comparison}");
            serde_json::to_value(&comparison)?
        }
        None => {
            let (outcome, live) = match &args.live {
                Some(addr) => {
                    let speed = positive(args.speed, "--speed")?;
                    if speed == 0.0 {
                        bail!("--speed must be above 0");
                    }
                    let servers = Servers::parse(addr, args.token.clone(), args.ca.clone())?;
                    if config.suspects.is_some() {
                        eprintln!(
                            "note: a live drill chases no fleeing suspects (the server plans its \
                             containments from its own state)"
                        );
                    }
                    let link = LiveLink::connect(servers, speed)?;
                    let (outcome, report) = run_live(&world, &config, link)?;
                    (outcome, Some(report))
                }
                None => match &args.journal {
                    Some(path) => {
                        if path.exists() {
                            bail!(
                                "--journal {}: the file exists; a drill writes a new journal",
                                path.display()
                            );
                        }
                        let sink = JournalSink::open(&world, path)?;
                        let (outcome, refused) = run_into_journal(&world, &config, sink);
                        let bytes = std::fs::metadata(path).map_or(0, |m| m.len());
                        println!(
                            "journal: {} ({bytes} bytes, {:.0} bytes a simulated day); the engine refused {refused} commands",
                            path.display(),
                            bytes as f64 / (outcome.simulated_s / 86_400.0).max(1e-9)
                        );
                        (outcome, None)
                    }
                    None => (run(&world, &config), None),
                },
            };
            let summary = DrillSummary::new(&config, &outcome);
            println!("{summary}");
            println!(
                "ran {:.0} simulated hours in {:.1} s; {} commands; position reports took {:.1} s, \
                 of which {:.1} s for the {} that recomputed a unit's coverage row ({} needed none)",
                outcome.simulated_s / 3600.0,
                outcome.wall_s,
                outcome.commands,
                outcome.positions_wall_s,
                outcome.refreshing_wall_s,
                outcome.coverage_refreshes,
                outcome.coverage_skips
            );
            if let Some(path) = &args.html {
                // With move-ups, the report sets the day's coverage beside
                // the same day without them: one more run of the seed.
                let without = (config.move_up && args.live.is_none()).then(|| {
                    let config = DrillConfig {
                        move_up: false,
                        ..config.clone()
                    };
                    DrillSummary::new(&config, &run(&world, &config))
                });
                std::fs::write(path, html(&world, &outcome, &summary, without.as_ref()))
                    .with_context(|| format!("writing {}", path.display()))?;
                println!("report: {}", path.display());
            }
            match live {
                Some(report) => {
                    println!(
                        "live: {} calls and {} position reports sent; the server refused {} and rejected {} reports; \
                         it holds {} incidents, {} as the drill has them, {} not",
                        report.calls,
                        report.positions_accepted + report.positions_rejected,
                        report.refused.len(),
                        report.positions_rejected,
                        report.server_incidents,
                        report.matching,
                        report.mismatches.len()
                    );
                    for line in report.refused.iter().chain(&report.mismatches).take(10) {
                        println!("  {line}");
                    }
                    serde_json::json!({ "summary": summary, "live": report })
                }
                None => serde_json::to_value(&summary)?,
            }
        }
    };
    if let Some(path) = &args.json {
        std::fs::write(path, serde_json::to_string_pretty(&report)? + "\n")
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok(())
}
