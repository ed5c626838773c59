//! The query executor: DataFusion plans run on threads of their own.
//!
//! DataFusion's operators are CPU-bound futures. Polled on the caller's tokio runtime, a scan
//! of a day of candles holds an async worker for tens of milliseconds, and every request and
//! pipeline stage queued on that worker waits with it: the serving API's tail latency under
//! ingest showed exactly that (docs/benchmarks.md). Plans therefore run on a runtime of their
//! own, as InfluxDB 3 does with its `DedicatedExecutor`; the OS scheduler shares the cores
//! between the two pools, so an async worker is time-sliced with a scan, never queued behind
//! it. Dropping the caller's future (a request's time limit) aborts the query.

use std::future::Future;

use tokio::runtime::{Builder, Handle, Runtime};

use crate::error::{Error, Result};

/// A tokio runtime reserved for query plans.
pub(crate) struct QueryExecutor {
    handle: Handle,
    /// Taken on drop and shut down without waiting (a drop may happen on an async worker).
    runtime: Option<Runtime>,
}

impl QueryExecutor {
    /// Starts `threads` query threads (named `cryptoviz-query`).
    pub(crate) fn new(threads: usize) -> Result<Self> {
        let runtime = Builder::new_multi_thread()
            .worker_threads(threads.max(1))
            .thread_name("cryptoviz-query")
            .enable_all()
            .build()
            .map_err(|e| Error::Task(format!("cannot start the query threads: {e}")))?;
        Ok(QueryExecutor {
            handle: runtime.handle().clone(),
            runtime: Some(runtime),
        })
    }

    /// Runs `query` on the query threads and returns its result.
    pub(crate) async fn run<T, F>(&self, query: F) -> Result<T>
    where
        F: Future<Output = Result<T>> + Send + 'static,
        T: Send + 'static,
    {
        let task = self.handle.spawn(query);
        let _abort = AbortOnDrop(task.abort_handle());
        task.await
            .map_err(|e| Error::Task(format!("query task: {e}")))?
    }
}

impl Drop for QueryExecutor {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// Aborts a query task when its caller stops waiting for it.
struct AbortOnDrop(tokio::task::AbortHandle);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn runs_on_the_query_threads_and_returns_the_result() {
        let executor = QueryExecutor::new(1).unwrap();
        let name = executor
            .run(async { Ok(std::thread::current().name().map(str::to_string)) })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("cryptoviz-query"));
        let err = executor
            .run(async { Err::<(), _>(Error::InvalidQuery("bad".into())) })
            .await
            .unwrap_err();
        assert!(matches!(err, Error::InvalidQuery(_)), "{err}");
    }

    #[tokio::test]
    async fn a_dropped_caller_aborts_the_query() {
        let executor = QueryExecutor::new(1).unwrap();
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let slow = executor.run(async move {
            let _done = done_tx; // dropped when the task ends, finished or aborted
            let _ = started_tx.send(());
            tokio::time::sleep(std::time::Duration::from_secs(3600)).await;
            Ok(())
        });
        tokio::select! {
            _ = slow => panic!("the slow query finished"),
            _ = started_rx => {}
        }
        // `slow` is dropped here: the task must be aborted, dropping its sender.
        tokio::time::timeout(std::time::Duration::from_secs(5), done_rx)
            .await
            .expect("the query task was not aborted")
            .unwrap_err();
    }

    #[tokio::test]
    async fn dropping_the_executor_on_an_async_worker_does_not_panic() {
        let executor = QueryExecutor::new(2).unwrap();
        executor.run(async { Ok(()) }).await.unwrap();
        drop(executor);
    }
}
