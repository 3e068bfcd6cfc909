//! `remote add|ls|rm`: the hosts zwarm drives over SSH. A host is added
//! only once it answered `zwarm --json version` with this schema.

use super::{Ctx, Outcome};
use crate::cli::{RemoteAddArgs, RemoteArgs, RemoteCommand};
use crate::error::Error;
use crate::remote::config::Config;
use crate::remote::transport::{self, check_program, check_target, Request};
use crate::remote::{cache, check_name, Host, HostError, Remote};
use crate::render::json::{RemoteJson, RemotesJson, SCHEMA_VERSION};
use crate::render::{self, human};
use anyhow::Result;
use serde::Deserialize;

pub(crate) fn run(ctx: &mut Ctx, a: &RemoteArgs) -> Result<Outcome> {
    match &a.command {
        RemoteCommand::Add(a) => add(ctx, a),
        RemoteCommand::Ls => ls(ctx),
        RemoteCommand::Rm(a) => rm(ctx, &a.name),
    }
}

fn add(ctx: &mut Ctx, a: &RemoteAddArgs) -> Result<Outcome> {
    check_name(&a.name).map_err(Error::Usage)?;
    check_target(&a.target).map_err(Error::Usage)?;
    check_program(&a.zwarm).map_err(Error::Usage)?;
    if let Some(bad) = a
        .options
        .iter()
        .find(|o| o.trim().is_empty() || o.contains('\n'))
    {
        return Err(Error::Usage(format!("'{}' is not an ssh option", bad.escape_debug())).into());
    }
    let mut config = Config::load()?;
    // Refused before the host is asked: a taken name needs no connection.
    config.host(&a.name).map_or(Ok(()), |_| {
        Err(Error::Usage(format!(
            "a remote named '{}' exists already (`zwarm remote rm {}` first)",
            a.name, a.name
        )))
    })?;
    let host = Host {
        name: a.name.clone(),
        remote: Remote {
            target: a.target.clone(),
            remote_dir: a.remote_dir.clone(),
            workdir: a.workdir.clone(),
            zwarm: a.zwarm.clone(),
            options: a.options.clone(),
        },
    };
    let version = check_version(&host)?;
    config.add(&a.name, host.remote.clone())?;
    if ctx.json() {
        ctx.p
            .json_doc(&RemotesJson::new(vec![row(&host.name, &host.remote)]))?;
    } else {
        ctx.p.line(&format!(
            "added remote {} ({}, zwarm {version})",
            host.name, host.remote.target
        ))?;
    }
    Ok(Outcome::OK)
}

/// What a host's `zwarm --json version` says.
#[derive(Deserialize)]
struct Version {
    version: String,
    schema_version: u32,
}

/// Asks `host` for its version; its zwarm's version if this one can drive
/// it, else why not.
pub(crate) fn check_version(host: &Host) -> Result<String, HostError> {
    let reply = transport::run(
        host,
        &Request {
            argv: vec!["version".into(), "--json".into()],
            columns: None,
        },
    )?;
    let incompatible = |remote_version: String, remote_schema: String| HostError::Incompatible {
        host: host.name.clone(),
        local_version: env!("CARGO_PKG_VERSION").into(),
        local_schema: SCHEMA_VERSION,
        remote_version,
        remote_schema,
    };
    if reply.code != 0 {
        // A zwarm from before remotes knows neither `remote-exec` nor
        // `version`: its usage error is all it answers.
        return Err(incompatible(
            "without remotes (it has no `zwarm remote-exec`)".into(),
            "unknown".into(),
        ));
    }
    let v: Version = serde_json::from_slice(&reply.stdout).map_err(|e| HostError::BadReply {
        host: host.name.clone(),
        detail: format!("its `zwarm --json version` is not a version document: {e}"),
    })?;
    if v.schema_version != SCHEMA_VERSION {
        return Err(incompatible(v.version, v.schema_version.to_string()));
    }
    Ok(v.version)
}

fn row<'a>(name: &'a str, r: &'a Remote) -> RemoteJson<'a> {
    RemoteJson {
        name,
        target: &r.target,
        remote_dir: r.remote_dir.as_deref(),
        workdir: r.workdir.as_deref(),
        zwarm: &r.zwarm,
        options: &r.options,
    }
}

fn ls(ctx: &mut Ctx) -> Result<Outcome> {
    let config = Config::load()?;
    let hosts: Vec<Host> = config.hosts().collect();
    let rows: Vec<RemoteJson<'_>> = hosts.iter().map(|h| row(&h.name, &h.remote)).collect();
    if ctx.json() {
        ctx.p.json_doc(&RemotesJson::new(rows))?;
    } else {
        ctx.p.text(&human::remotes(&ctx.style(), &rows))?;
    }
    Ok(Outcome::OK)
}

fn rm(ctx: &mut Ctx, name: &str) -> Result<Outcome> {
    let mut config = Config::load()?;
    if !config.remove(name)? {
        return Err(HostError::Unknown(name.to_string()).into());
    }
    if let Some(base) = cache::dir() {
        cache::forget(&base, name);
    }
    if ctx.json() {
        // The remotes that are left, as `remote ls` gives them.
        return ls(ctx);
    }
    render::notice(&ctx.style(), &format!("removed remote {name}"));
    Ok(Outcome::OK)
}
