//! `list`: every session, newest first, optionally of one status.

use super::{Ctx, Outcome};
use crate::cli::ListArgs;
use crate::model::SessionStatus;
use crate::render::human::{self, RowCells};
use crate::render::{self, json};
use crate::session::manager::{Listed, Listing};
use crate::store::Row;
use anyhow::Result;

pub(crate) fn run(ctx: &mut Ctx, a: &ListArgs) -> Result<Outcome> {
    // Each session is held as a row while the store is read: for the table,
    // its cells, printed from without reading it again; for --json, where it
    // is, read again from the list index when it is written. Listing 100,000
    // holds a couple hundred bytes of each, never the sessions nor their
    // output.
    if ctx.json() {
        // With --json, each session keeps its last agent message.
        let mut listing = ctx.manager.list_rows(true, &|_, _, _| ())?;
        keep_status(&mut listing, a.status.as_deref());
        warn(ctx, &listing);
        let sessions = listing.rows().iter().map(|row| listing.shown(row));
        ctx.p
            .json_doc(&json::ListJsonStream::new(sessions, listing.problems()))?;
    } else {
        let width = terminal_width();
        let status = a.status.as_deref();
        let measure = human::ListMeasure::new(width, status.and_then(SessionStatus::parse));
        let mut listing = ctx
            .manager
            .list_rows(false, &|s, stall, place| measure.row(s, stall, place))?;
        keep_status(&mut listing, status);
        warn(ctx, &listing);
        table(ctx, &listing, width)?;
        // The verb ends here and the process with it: 100,000 rows freed one
        // by one would cost a twentieth of the listing for nothing.
        std::mem::forget(listing);
    }
    Ok(Outcome::OK)
}

/// The table, written a few dozen rows at a time.
fn table(ctx: &mut Ctx, listing: &Listing<RowCells>, width: usize) -> Result<()> {
    const FLUSH_AT: usize = 64 * 1024;
    let style = ctx.style();
    let rows = listing.rows();
    let mut out = String::with_capacity(FLUSH_AT + 4096);
    let cells = rows.iter().map(|r| (r.status, &r.summary.summary));
    if let Some(table) = human::list_head(&style, cells.clone(), width, &mut out) {
        for (status, row) in cells {
            table.row(&style, status, row, &mut out);
            if out.len() >= FLUSH_AT {
                ctx.p.text(&out)?;
                out.clear();
            }
        }
    }
    ctx.p.text(&out)?;
    Ok(())
}

fn warn<S>(ctx: &Ctx, listing: &Listing<S>) {
    for pr in listing.problems() {
        render::warning(&ctx.style(), &human::skipped(&pr.id, &pr.error));
    }
}

/// `--status`: only the sessions of that status.
fn keep_status<S>(listing: &mut Listing<S>, status: Option<&str>) {
    if let Some(want) = status.and_then(SessionStatus::parse) {
        listing.retain(|row: &Row<Listed<S>>| row.status == want);
    }
}

pub(crate) fn terminal_width() -> usize {
    if let Some(w) = std::env::var("COLUMNS").ok().and_then(|c| c.parse().ok()) {
        return w;
    }
    // SAFETY: winsize is four integers, for which all zeroes is a value.
    let mut ws: libc::winsize = unsafe { std::mem::zeroed() };
    // SAFETY: TIOCGWINSZ fills the struct we pass; failure leaves it zeroed.
    let ok = unsafe { libc::ioctl(libc::STDOUT_FILENO, libc::TIOCGWINSZ, &mut ws) } == 0;
    if ok && ws.ws_col > 0 {
        ws.ws_col as usize
    } else {
        120
    }
}
