//! A ring of the newest events plus a broadcast channel.
//!
//! Publishing never waits: the ring drops its oldest event and a receiver that fell behind
//! the channel learns how many events it missed (`lagged`), so a slow client can never slow
//! the pipeline. Event ids are `"{epoch}-{seq}"`, where the epoch is the hub's start time: a
//! client resuming with an id from another run of the server, or from before the ring's
//! oldest event, is told to reload (`reset`) instead of silently missing events.

use std::collections::VecDeque;
use std::sync::Arc;

use parking_lot::Mutex;
use tokio::sync::broadcast;

/// What an event carries; also the SSE `event:` name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// A price tick as the producers published it.
    Price,
    /// A window's statistics changed (opened, grew, closed).
    Analytics,
    /// An anomaly episode started, grew or ended.
    Anomaly,
    /// A news article, with its sentiment.
    News,
    /// An hour of sentiment changed.
    Sentiment,
    /// An alert rule fired.
    Alert,
    /// An exchange trade as the producers published it (only on request: `topics=trades`).
    Trade,
}

impl EventKind {
    /// Every kind, in the order of [`EventKind::topic`] names.
    pub const ALL: [EventKind; 7] = [
        EventKind::Price,
        EventKind::Analytics,
        EventKind::Anomaly,
        EventKind::News,
        EventKind::Sentiment,
        EventKind::Alert,
        EventKind::Trade,
    ];

    /// What a client without `topics` follows: every kind but trades, whose rate (hundreds a
    /// second on a busy market) a client should ask for.
    pub const DEFAULT: [EventKind; 6] = [
        EventKind::Price,
        EventKind::Analytics,
        EventKind::Anomaly,
        EventKind::News,
        EventKind::Sentiment,
        EventKind::Alert,
    ];

    /// The SSE event name.
    pub fn as_str(self) -> &'static str {
        match self {
            EventKind::Price => "price",
            EventKind::Analytics => "analytics",
            EventKind::Anomaly => "anomaly",
            EventKind::News => "news",
            EventKind::Sentiment => "sentiment",
            EventKind::Alert => "alert",
            EventKind::Trade => "trade",
        }
    }

    /// The name a client subscribes with (`?topics=`).
    pub fn topic(self) -> &'static str {
        match self {
            EventKind::Price => "prices",
            EventKind::Analytics => "analytics",
            EventKind::Anomaly => "anomalies",
            EventKind::News => "news",
            EventKind::Sentiment => "sentiment",
            EventKind::Alert => "alerts",
            EventKind::Trade => "trades",
        }
    }

    /// The kind subscribed to as `topic`.
    pub fn from_topic(topic: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.topic() == topic)
    }
}

/// One published event.
#[derive(Debug)]
pub struct Event {
    /// Position in this hub (1, 2, …).
    pub seq: u64,
    /// `"{epoch}-{seq}"`, the SSE id.
    pub id: String,
    pub kind: EventKind,
    /// The payload, JSON text.
    pub data: String,
}

/// Where a new subscriber starts.
#[derive(Debug)]
pub enum Resume {
    /// No id given: from now on.
    Fresh,
    /// The events after the given id, still in the ring.
    Replay(Vec<Arc<Event>>),
    /// The id is from another run or older than the ring: reload, then follow.
    Reset,
}

/// A subscriber: what to send first, then the live channel.
#[derive(Debug)]
pub struct Subscription {
    pub resume: Resume,
    pub receiver: broadcast::Receiver<Arc<Event>>,
}

struct Ring {
    next_seq: u64,
    events: VecDeque<Arc<Event>>,
}

/// The event hub; cheap to share as `Arc<Hub>`.
pub struct Hub {
    epoch: u64,
    capacity: usize,
    ring: Mutex<Ring>,
    sender: broadcast::Sender<Arc<Event>>,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub").field("epoch", &self.epoch).finish()
    }
}

impl Hub {
    /// A hub keeping the newest `capacity` events for resumption; a subscriber more than
    /// `channel` events behind is told it lagged.
    pub fn new(capacity: usize, channel: usize) -> Self {
        let epoch = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64);
        let (sender, _) = broadcast::channel(channel.max(1));
        Hub {
            epoch,
            capacity: capacity.max(1),
            ring: Mutex::new(Ring {
                next_seq: 1,
                events: VecDeque::new(),
            }),
            sender,
        }
    }

    /// Publishes an event; never waits.
    pub fn publish(&self, kind: EventKind, data: String) -> Arc<Event> {
        let mut ring = self.ring.lock();
        let seq = ring.next_seq;
        ring.next_seq += 1;
        let event = Arc::new(Event {
            seq,
            id: format!("{}-{seq}", self.epoch),
            kind,
            data,
        });
        if ring.events.len() == self.capacity {
            ring.events.pop_front();
        }
        ring.events.push_back(event.clone());
        // Sent under the lock, so that a subscriber's replay and its channel never overlap or
        // leave a gap. No receiver is not an error.
        let _ = self.sender.send(event.clone());
        event
    }

    /// Follows the hub, resuming after `last_event_id` when it can.
    pub fn subscribe(&self, last_event_id: Option<&str>) -> Subscription {
        let ring = self.ring.lock();
        let receiver = self.sender.subscribe();
        let resume = match last_event_id {
            None => Resume::Fresh,
            Some(id) => match parse_id(id) {
                Some((epoch, seq)) if epoch == self.epoch && seq < ring.next_seq => {
                    let oldest = ring.events.front().map_or(ring.next_seq, |e| e.seq);
                    if seq + 1 < oldest {
                        Resume::Reset
                    } else {
                        Resume::Replay(
                            ring.events
                                .iter()
                                .filter(|e| e.seq > seq)
                                .cloned()
                                .collect(),
                        )
                    }
                }
                _ => Resume::Reset,
            },
        };
        Subscription { resume, receiver }
    }

    /// Current subscribers.
    pub fn subscribers(&self) -> usize {
        self.sender.receiver_count()
    }

    /// Events published so far.
    pub fn published(&self) -> u64 {
        self.ring.lock().next_seq - 1
    }
}

fn parse_id(id: &str) -> Option<(u64, u64)> {
    let (epoch, seq) = id.trim().split_once('-')?;
    Some((epoch.parse().ok()?, seq.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resumes_after_an_id_and_resets_when_it_is_gone() {
        let hub = Hub::new(3, 16);
        let ids: Vec<String> = (0..5)
            .map(|i| hub.publish(EventKind::Price, format!("{i}")).id.clone())
            .collect();
        // The ring holds events 3, 4, 5: resuming after 3 replays 4 and 5.
        match hub.subscribe(Some(&ids[2])).resume {
            Resume::Replay(events) => {
                assert_eq!(events.iter().map(|e| e.seq).collect::<Vec<_>>(), [4, 5])
            }
            other => panic!("expected a replay, got {other:?}"),
        }
        // After 2 the replay would start at 3, the oldest kept: still complete.
        assert!(matches!(hub.subscribe(Some(&ids[1])).resume, Resume::Replay(e) if e.len() == 3));
        // After 1, event 2 is gone: reset.
        assert!(matches!(hub.subscribe(Some(&ids[0])).resume, Resume::Reset));
        // Another run's id, a future id or garbage: reset.
        assert!(matches!(hub.subscribe(Some("1-2")).resume, Resume::Reset));
        let future = format!("{}-99", hub.epoch);
        assert!(matches!(hub.subscribe(Some(&future)).resume, Resume::Reset));
        assert!(matches!(hub.subscribe(Some("x")).resume, Resume::Reset));
        assert!(matches!(hub.subscribe(None).resume, Resume::Fresh));
    }

    #[test]
    fn a_slow_subscriber_lags_instead_of_blocking() {
        let hub = Hub::new(100, 4);
        let mut sub = hub.subscribe(None);
        for i in 0..10 {
            hub.publish(EventKind::Price, format!("{i}"));
        }
        match sub.receiver.try_recv() {
            Err(broadcast::error::TryRecvError::Lagged(n)) => assert_eq!(n, 6),
            other => panic!("expected a lag, got {other:?}"),
        }
        assert_eq!(sub.receiver.try_recv().unwrap().seq, 7);
    }
}
