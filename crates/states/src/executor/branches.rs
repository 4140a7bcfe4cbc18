//! Parallel branches and inline Map iterations, each a nested machine run on its own branch of
//! the history.

use super::*;

impl Run<'_> {
    pub(super) async fn parallel_attempt(
        &self,
        name: &str,
        p: &ParallelState,
        eff: &Value,
        entered: DateTime<Utc>,
        retry: u32,
        cur: &Cursor,
    ) -> Result<Value, StatesError> {
        let ctx = self.context(name, entered, retry, None, None);
        let input = match &p.parameters {
            Some(t) => template::apply(t, eff, &ctx)?,
            None => eff.clone(),
        };
        let started = self.record(cur, "ParallelStateStarted", None);
        let branches = p.branches.iter().map(|b| {
            let input = input.clone();
            async move {
                let branch = Cursor::new(started);
                self.run_machine(b, input, &branch).await
            }
        });
        match futures::future::try_join_all(branches).await {
            Ok(outputs) => {
                self.record(cur, "ParallelStateSucceeded", None);
                Ok(Value::Array(outputs))
            }
            Err(e) => {
                self.record(cur, "ParallelStateFailed", None);
                Err(e)
            }
        }
    }

    pub(super) async fn map_attempt(
        &self,
        name: &str,
        m: &MapState,
        eff: &Value,
        entered: DateTime<Utc>,
        retry: u32,
        cur: &Cursor,
    ) -> Result<Value, StatesError> {
        let ctx = self.context(name, entered, retry, None, None);
        let items_path = m.items_path.as_deref().unwrap_or("$");
        let Value::Array(items) = path::query(items_path, eff, &ctx)? else {
            return Err(StatesError::runtime(format!(
                "ItemsPath {items_path:?} of {name:?} must point to an array"
            )));
        };
        let max = match (&m.max_concurrency, &m.max_concurrency_path) {
            (Some(n), _) => *n,
            (None, Some(p)) => seconds_from(p, eff, &ctx, "MaxConcurrencyPath")?,
            _ => 0,
        };
        let processor = m
            .processor()
            .ok_or_else(|| StatesError::runtime("Map state without ItemProcessor"))?;
        let started = self.record(
            cur,
            "MapStateStarted",
            Some((
                "mapStateStartedEventDetails",
                json!({"length": items.len()}),
            )),
        );
        let count = items.len();
        let iterations = items
            .into_iter()
            .enumerate()
            .map(|(index, item)| async move {
                let input = match m.selector() {
                    Some(t) => {
                        let item_ctx =
                            self.context(name, entered, retry, None, Some((index, &item)));
                        template::apply(t, eff, &item_ctx)?
                    }
                    None => item,
                };
                let branch = Cursor::new(started);
                let details = json!({"name": name, "index": index});
                self.record(
                    &branch,
                    "MapIterationStarted",
                    Some(("mapIterationStartedEventDetails", details.clone())),
                );
                let result = self.run_machine(processor, input, &branch).await;
                match &result {
                    Ok(_) => self.record(
                        &branch,
                        "MapIterationSucceeded",
                        Some(("mapIterationSucceededEventDetails", details)),
                    ),
                    Err(_) => self.record(
                        &branch,
                        "MapIterationFailed",
                        Some(("mapIterationFailedEventDetails", details)),
                    ),
                };
                result
            });
        let limit = if max == 0 { count.max(1) } else { max as usize };
        let results = futures::stream::iter(iterations).buffered(limit);
        let tolerated = m.tolerated_failure_count.is_some()
            || m.tolerated_failure_percentage.is_some()
            || m.tolerated_failure_count_path.is_some()
            || m.tolerated_failure_percentage_path.is_some();
        let outcome = if !tolerated {
            results.try_collect::<Vec<_>>().await.map(Value::Array)
        } else {
            let all: Vec<Result<Value, StatesError>> = results.collect().await;
            let failed = all.iter().filter(|r| r.is_err()).count();
            let max_count = match (&m.tolerated_failure_count, &m.tolerated_failure_count_path) {
                (Some(n), _) => Some(*n),
                (None, Some(p)) => Some(seconds_from(p, eff, &ctx, "ToleratedFailureCountPath")?),
                _ => None,
            };
            let max_pct = match (
                &m.tolerated_failure_percentage,
                &m.tolerated_failure_percentage_path,
            ) {
                (Some(p), _) => Some(*p),
                (None, Some(p)) => path::query(p, eff, &ctx)?.as_f64(),
                _ => None,
            };
            let over_count = max_count.is_some_and(|n| failed as u64 > n);
            let over_pct =
                max_pct.is_some_and(|p| count > 0 && (failed as f64 * 100.0 / count as f64) > p);
            if over_count || over_pct {
                Err(StatesError::new(
                    names::EXCEED_TOLERATED_FAILURE_THRESHOLD,
                    format!("{failed} of {count} items failed, over the tolerated threshold"),
                ))
            } else {
                Ok(Value::Array(
                    all.into_iter()
                        .map(|r| r.unwrap_or_else(|e| e.to_value()))
                        .collect(),
                ))
            }
        };
        match &outcome {
            Ok(_) => self.record(cur, "MapStateSucceeded", None),
            Err(_) => self.record(cur, "MapStateFailed", None),
        };
        outcome
    }
}
