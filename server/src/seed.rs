//! Seeds: a new node's copy of the log, from a JetStream object store instead of the whole
//! stream ([`crate::cluster`]).
//!
//! A node that starts on an empty data folder would otherwise apply the log stream from its
//! first message: every event checked, stored and folded again, minutes for a province's
//! years. Instead, the node that holds the clock's lease uploads a **seed** when it saves a
//! snapshot of its fold (at most every [`SEED_EVERY`]): a copy of its database made with SQLite's `VACUUM INTO` (one read
//! transaction, so the event log, its stream position, the fold's latest snapshot, what the
//! alert rules remember, the trail and the users are all as of one instant), as the object
//! [`SEED_OBJECT`] of the bucket [`SEED_BUCKET`], replacing the one before. A node that starts
//! with no database downloads it, then starts as a restarted node does: from the snapshot in
//! it and the events after it, and applies the stream from the seed's position on. It is a
//! copy of a whole node, users included: the NATS account that can read the log can read it.
//!
//! A folder that already has a database (a restarted node, or one provisioned by copying a
//! folder) is never replaced.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use async_nats::jetstream::{self, object_store, stream};

use crate::cluster::{Cluster, LOG_STREAM};
use crate::store::DB_FILE;

/// The object store bucket of the seed.
pub const SEED_BUCKET: &str = "YIPING_SEED";
/// The seed's name in it.
pub const SEED_OBJECT: &str = "yiping.db";

/// Whether a stream exists: `Ok(None)` when it does not; a failure to ask (a server that is
/// still electing its leader) is tried again for half a minute, then is an error.
async fn stream_info(js: &jetstream::Context, name: &str) -> anyhow::Result<Option<stream::Info>> {
    let mut tries = 0;
    loop {
        match js.get_stream(name).await {
            Ok(mut s) => return Ok(Some(s.info().await?.clone())),
            Err(e) => match e.kind() {
                jetstream::context::GetStreamErrorKind::JetStream(j)
                    if j.error_code() == jetstream::ErrorCode::STREAM_NOT_FOUND =>
                {
                    return Ok(None);
                }
                _ if tries < 30 => {
                    tries += 1;
                    tracing::warn!("the stream {name} is not available yet: {e}; trying again in 1 s");
                    tokio::time::sleep(std::time::Duration::from_secs(1)).await;
                }
                _ => anyhow::bail!("the stream {name}: {e}"),
            },
        }
    }
}

/// Download the seed from the NATS server at `url` into `data_dir` when the folder has no
/// database yet (before anything else makes one: the first start's administrator is made only
/// when there is no seed); whether it did. No seed yet (a new cluster), or a seed of another
/// log (a stream made again), is not an error: the node then applies the stream from its
/// start. A seed that cannot be read is: the folder is left as it was.
pub async fn fetch_if_new(url: &str, data_dir: &Path) -> anyhow::Result<bool> {
    let db = data_dir.join(DB_FILE);
    if db.exists() {
        return Ok(false);
    }
    let shown = crate::nats::without_password(url);
    let client = async_nats::ConnectOptions::new()
        .retry_on_initial_connect()
        .connection_timeout(std::time::Duration::from_secs(5))
        .connect(url)
        .await
        .map_err(|e| anyhow::anyhow!("cannot reach NATS at {shown}: {e}"))?;
    let js = jetstream::new(client);
    let (Some(log), Some(_)) =
        (stream_info(&js, LOG_STREAM).await?, stream_info(&js, &format!("OBJ_{SEED_BUCKET}")).await?)
    else {
        tracing::info!("no seed in {SEED_BUCKET}: this new node applies the log stream from its start");
        return Ok(false);
    };
    let bucket = js.get_object_store(SEED_BUCKET).await.map_err(|e| anyhow::anyhow!("{SEED_BUCKET}: {e}"))?;
    let t0 = Instant::now();
    let mut object = match bucket.get(SEED_OBJECT).await {
        Ok(o) => o,
        Err(e) if e.kind() == object_store::GetErrorKind::NotFound => {
            tracing::info!("no seed in {SEED_BUCKET}: this new node applies the log stream from its start");
            return Ok(false);
        }
        Err(e) => anyhow::bail!("the seed in {SEED_BUCKET}: {e}"),
    };
    let epoch = crate::cluster::epoch_of(&log);
    let of = object.info().metadata.get("epoch").cloned().unwrap_or_default();
    if of != epoch {
        tracing::warn!(
            seed = of,
            stream = epoch,
            "the seed in {SEED_BUCKET} is of another log stream: not used; this new node applies the stream from its start"
        );
        return Ok(false);
    }
    std::fs::create_dir_all(data_dir)
        .map_err(|e| anyhow::anyhow!("cannot create the data folder {}: {e}", data_dir.display()))?;
    let part = data_dir.join(format!("{DB_FILE}.seed"));
    let mut file = tokio::fs::File::create(&part).await?;
    let copied = tokio::io::copy(&mut object, &mut file).await;
    let bytes = match copied {
        Ok(b) => b,
        Err(e) => {
            let _ = tokio::fs::remove_file(&part).await;
            anyhow::bail!("the seed in {SEED_BUCKET} could not be read whole ({e}): start again");
        }
    };
    file.sync_all().await?;
    drop(file);
    // What SQLite left of an earlier database here would be replayed onto the seed, and an
    // index of it would be of another log.
    for leftover in ["-wal", "-shm", "-journal"] {
        let _ = tokio::fs::remove_file(data_dir.join(format!("{DB_FILE}{leftover}"))).await;
    }
    for file in ["", "-wal", "-shm"] {
        let _ = tokio::fs::remove_file(data_dir.join(format!("{}{file}", crate::logindex::INDEX_FILE))).await;
    }
    tokio::fs::rename(&part, &db).await?;
    let position: u64 = object.info().metadata.get("stream_seq").and_then(|s| s.parse().ok()).unwrap_or(0);
    tracing::info!(
        bytes,
        stream_seq = position,
        ms = t0.elapsed().as_millis() as u64,
        "this new node starts from the seed in {SEED_BUCKET}"
    );
    Ok(true)
}

/// Seeds are uploaded at most this often (a copy of the whole database each time); a new node
/// applies the stream's messages after its seed, at most this much of the log.
pub const SEED_EVERY: std::time::Duration = std::time::Duration::from_secs(600);

/// Upload a seed whenever this node has saved a snapshot of its fold and holds the clock's
/// lease, at most every [`SEED_EVERY`] (a snapshot sooner is seeded once that time has
/// passed). Runs for as long as the server runs.
pub async fn run_seeding(cluster: Arc<Cluster>, data_dir: PathBuf) {
    let mut last: Option<tokio::time::Instant> = None;
    loop {
        cluster.seed_wanted().notified().await;
        if let Some(at) = last {
            tokio::time::sleep_until(at + SEED_EVERY).await;
        }
        if !cluster.holds_clock() {
            continue;
        }
        last = Some(tokio::time::Instant::now());
        if let Err(e) = upload(&cluster, &data_dir).await {
            tracing::warn!("no seed uploaded this time: {e:#}");
        }
    }
}

async fn upload(cluster: &Cluster, data_dir: &Path) -> anyhow::Result<()> {
    let t0 = Instant::now();
    let copy = data_dir.join(format!("{DB_FILE}.seeding"));
    let _ = std::fs::remove_file(&copy);
    let (from, to) = (data_dir.join(DB_FILE), copy.clone());
    let position = tokio::task::spawn_blocking(move || -> anyhow::Result<u64> {
        let conn = rusqlite::Connection::open(&from)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute("VACUUM INTO ?1", [to.display().to_string()])?;
        let copy = rusqlite::Connection::open(&to)?;
        let seq: Option<String> =
            copy.query_row("SELECT value FROM meta WHERE key = 'stream_seq'", [], |r| r.get(0)).ok();
        Ok(seq.and_then(|s| s.parse().ok()).unwrap_or(0))
    })
    .await??;
    let copied = t0.elapsed();
    let bucket = match cluster.jetstream().get_object_store(SEED_BUCKET).await {
        Ok(b) => b,
        Err(_) => {
            cluster
                .jetstream()
                .create_object_store(object_store::Config {
                    bucket: SEED_BUCKET.into(),
                    description: Some("yiping: a copy of a node's database for new nodes".into()),
                    storage: stream::StorageType::File,
                    num_replicas: cluster.replicas(),
                    ..Default::default()
                })
                .await?
        }
    };
    let mut file = tokio::fs::File::open(&copy).await?;
    let meta = object_store::ObjectMetadata {
        name: SEED_OBJECT.into(),
        description: Some(format!("the log as of stream message {position}")),
        chunk_size: Some(1024 * 1024),
        metadata: [
            ("stream_seq".to_owned(), position.to_string()),
            ("epoch".to_owned(), cluster.epoch().to_owned()),
        ]
        .into_iter()
        .collect(),
        headers: None,
    };
    let info = bucket.put(meta, &mut file).await?;
    let _ = tokio::fs::remove_file(&copy).await;
    tracing::info!(
        bytes = info.size,
        stream_seq = position,
        copy_ms = copied.as_millis() as u64,
        ms = t0.elapsed().as_millis() as u64,
        "seed uploaded to {SEED_BUCKET}"
    );
    Ok(())
}
