//! Sidekiq's state, read from Redis in Sidekiq's own layout: the `queues` set
//! names the queues, `queue:<name>` is a list with the newest job on the left
//! (LPUSH) and the oldest on the right, each job a JSON object whose
//! `enqueued_at` is epoch seconds as a float (Sidekiq 8 writes integer
//! milliseconds: both are read); `retry` and `dead` are sorted sets. Keys carry
//! no prefix unless a namespace is configured (redis-namespace, Sidekiq < 7).

use anyhow::{Context, Result};
use chrono::Utc;
use redis::aio::MultiplexedConnection;

use super::thresholds::Metric;
use super::Finding;

/// What Sidekiq's keys hold right now.
#[derive(Debug, Clone, PartialEq)]
pub struct SidekiqStats {
    pub queues: usize,
    pub depth: u64,
    /// Seconds the oldest waiting job has waited (0 with empty queues).
    pub latency: f64,
    /// The queue holding that job.
    pub oldest_queue: Option<String>,
    pub retry: u64,
    pub dead: u64,
}

/// Read the stats and report them as a finding.
pub(super) async fn check(conn: &mut MultiplexedConnection, ns: Option<&str>) -> Result<Finding> {
    let s = read(conn, ns).await?;
    let oldest = match &s.oldest_queue {
        Some(q) => format!(", oldest job waiting {:.1} s in {q}", s.latency),
        None => String::new(),
    };
    Ok(Finding {
        enqueued: Some(s.depth),
        metrics: vec![
            (Metric::SidekiqQueueDepth, s.depth as f64),
            (Metric::SidekiqMaxLatency, (s.latency * 10.0).round() / 10.0),
            (Metric::SidekiqRetrySize, s.retry as f64),
            (Metric::SidekiqDeadSize, s.dead as f64),
        ],
        ..Finding::healthy(format!(
            "{} jobs in {} queues{oldest}; {} to retry, {} dead",
            s.depth, s.queues, s.retry, s.dead
        ))
    })
}

pub async fn read(conn: &mut MultiplexedConnection, ns: Option<&str>) -> Result<SidekiqStats> {
    let key = |k: &str| match ns {
        Some(ns) => format!("{ns}:{k}"),
        None => k.to_owned(),
    };
    let mut queues: Vec<String> = redis::cmd("SMEMBERS")
        .arg(key("queues"))
        .query_async(conn)
        .await
        .with_context(|| format!("cannot read the Sidekiq queue set {:?}", key("queues")))?;
    queues.sort();
    let mut pipe = redis::pipe();
    for q in &queues {
        let list = key(&format!("queue:{q}"));
        pipe.cmd("LLEN").arg(&list).cmd("LINDEX").arg(&list).arg(-1);
    }
    pipe.cmd("ZCARD").arg(key("retry"));
    pipe.cmd("ZCARD").arg(key("dead"));
    let values: Vec<redis::Value> = pipe
        .query_async(conn)
        .await
        .context("cannot read the Sidekiq queues")?;
    let replies = parse_pipeline(values, queues.len())?;
    let now = Utc::now().timestamp_micros() as f64 / 1e6;
    let mut stats = SidekiqStats {
        queues: queues.len(),
        depth: replies.queues.iter().map(|q| q.len).sum(),
        latency: 0.0,
        oldest_queue: None,
        retry: replies.retry,
        dead: replies.dead,
    };
    for (q, head) in queues.iter().zip(&replies.queues) {
        let Some(job) = &head.oldest else { continue };
        let waited = enqueued_at(job).map(|t| (now - t).max(0.0)).unwrap_or(0.0);
        if stats.oldest_queue.is_none() || waited > stats.latency {
            stats.latency = waited;
            stats.oldest_queue = Some(q.clone());
        }
    }
    Ok(stats)
}

/// One queue's length and its oldest job.
struct QueueHead {
    len: u64,
    oldest: Option<String>,
}

/// The pipeline's replies, in the order the commands were sent.
struct Replies {
    queues: Vec<QueueHead>,
    retry: u64,
    dead: u64,
}

fn parse_pipeline(values: Vec<redis::Value>, queues: usize) -> Result<Replies> {
    use redis::FromRedisValue;
    anyhow::ensure!(
        values.len() == queues * 2 + 2,
        "Redis answered {} replies for {} commands",
        values.len(),
        queues * 2 + 2
    );
    let mut it = values.into_iter();
    let mut next = || it.next().unwrap_or(redis::Value::Nil);
    let mut per_queue = Vec::with_capacity(queues);
    for _ in 0..queues {
        let len = u64::from_redis_value(next()).context("a Sidekiq queue is not a list")?;
        let oldest =
            Option::<String>::from_redis_value(next()).context("a Sidekiq job is not a string")?;
        per_queue.push(QueueHead { len, oldest });
    }
    let retry = u64::from_redis_value(next()).context("Sidekiq's retry set is not a sorted set")?;
    let dead = u64::from_redis_value(next()).context("Sidekiq's dead set is not a sorted set")?;
    Ok(Replies {
        queues: per_queue,
        retry,
        dead,
    })
}

/// `enqueued_at` in epoch seconds: a float is seconds (Sidekiq up to 7), an
/// integer milliseconds (Sidekiq 8). None when absent or unreadable.
pub fn enqueued_at(job: &str) -> Option<f64> {
    let v: serde_json::Value = serde_json::from_str(job).ok()?;
    let n = v.get("enqueued_at")?.as_number()?;
    if n.is_f64() {
        n.as_f64()
    } else {
        n.as_f64().map(|ms| ms / 1000.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enqueued_at_reads_both_sidekiq_formats() {
        let old = r#"{"class":"X","jid":"a","enqueued_at":1700000000.25}"#;
        assert_eq!(enqueued_at(old), Some(1_700_000_000.25));
        let v8 = r#"{"class":"X","jid":"a","enqueued_at":1700000000250}"#;
        assert_eq!(enqueued_at(v8), Some(1_700_000_000.25));
        assert_eq!(enqueued_at(r#"{"class":"X"}"#), None);
        assert_eq!(enqueued_at("not json"), None);
    }
}
