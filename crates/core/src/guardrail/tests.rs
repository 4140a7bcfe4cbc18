//! Tests of the parent module.

use super::*;
use crate::duration::PromDuration;
use crate::matcher::Matcher;
use crate::runbook::{Approval, ReplicaBounds};

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-25T21:30:00Z")
        .unwrap()
        .to_utc()
}

fn deployment(ns: &str) -> Target {
    Target {
        cluster: "selfheal-dev".into(),
        namespace: Some(ns.into()),
        kind: TargetKind::Deployment,
        name: "backend".into(),
        owner: None,
    }
}

fn node() -> Target {
    Target {
        cluster: "selfheal-dev".into(),
        namespace: None,
        kind: TargetKind::Node,
        name: "ip-10-0-1-2".into(),
        owner: None,
    }
}

fn runbook(steps: Vec<Step>, risk: Risk) -> Runbook {
    Runbook {
        id: "test".into(),
        description: "test".into(),
        priority: 100,
        matchers: vec!["alertname=\"X\"".parse::<Matcher>().unwrap()],
        steps,
        risk,
        approval: None,
        max_attempts: 2,
        cooldown: PromDuration::from_secs(900),
        dry_run: false,
        allow_namespaces: vec![],
    }
}

fn restart() -> Runbook {
    runbook(vec![Step::RestartPods {}], Risk::Low)
}

fn drain() -> Runbook {
    runbook(
        vec![
            Step::Cordon {},
            Step::Drain {
                timeout: PromDuration::from_secs(300),
            },
        ],
        Risk::High,
    )
}

fn scale(by: i32) -> Runbook {
    runbook(
        vec![Step::Scale {
            by,
            bounds: ReplicaBounds {
                min: 2,
                max: 6,
                max_step: 2,
            },
        }],
        if by < 0 { Risk::High } else { Risk::Medium },
    )
}

fn codes(v: &Verdict) -> Vec<&'static str> {
    v.reasons.iter().map(Reason::code).collect()
}

fn decide_with(target: &Target, rb: &Runbook, policy: &Policy, state: &GuardrailState) -> Verdict {
    decide(target, rb, policy, state, now())
}

#[test]
fn a_low_risk_runbook_in_an_ordinary_namespace_runs() {
    let v = decide_with(
        &deployment("shop"),
        &restart(),
        &Policy::default(),
        &GuardrailState::default(),
    );
    assert_eq!(
        v,
        Verdict {
            decision: Decision::Run,
            reasons: vec![]
        }
    );
}

#[test]
fn kube_system_is_denied_unless_the_runbook_allows_it() {
    let v = decide_with(
        &deployment("kube-system"),
        &restart(),
        &Policy::default(),
        &GuardrailState::default(),
    );
    assert_eq!(v.decision, Decision::Refuse);
    assert_eq!(
        v.reasons,
        vec![Reason::NamespaceDenied {
            namespace: "kube-system".into()
        }]
    );
    assert_eq!(
        v.reasons[0].to_string(),
        "namespace kube-system is denied by policy"
    );
    let mut rb = restart();
    rb.allow_namespaces = vec!["kube-system".into()];
    assert_eq!(
        decide_with(
            &deployment("kube-system"),
            &rb,
            &Policy::default(),
            &GuardrailState::default()
        )
        .decision,
        Decision::Run
    );
}

#[test]
fn an_allow_list_refuses_other_namespaces() {
    let policy = Policy {
        allowed_namespaces: vec!["shop".into()],
        ..Policy::default()
    };
    assert_eq!(
        decide_with(
            &deployment("shop"),
            &restart(),
            &policy,
            &GuardrailState::default()
        )
        .decision,
        Decision::Run
    );
    let v = decide_with(
        &deployment("billing"),
        &restart(),
        &policy,
        &GuardrailState::default(),
    );
    assert_eq!(codes(&v), ["namespace-not-allowed"]);
}

#[test]
fn a_step_that_cannot_act_on_the_target_kind_is_refused() {
    let v = decide_with(
        &node(),
        &restart(),
        &Policy::default(),
        &GuardrailState::default(),
    );
    assert_eq!(codes(&v), ["kind-unsupported"]);
    assert_eq!(
        v.reasons[0].to_string(),
        "restart-pods cannot act on a Node"
    );
}

#[test]
fn cooldown_refuses_until_it_has_passed() {
    let state = GuardrailState {
        last_action_at: Some(now() - chrono::Duration::minutes(10)),
        ..Default::default()
    };
    let v = decide_with(&deployment("shop"), &restart(), &Policy::default(), &state);
    assert_eq!(
        v.reasons,
        vec![Reason::Cooldown {
            until: now() + chrono::Duration::minutes(5)
        }]
    );
    assert_eq!(
        v.reasons[0].to_string(),
        "target is cooling down until 2026-11-25T21:35:00Z"
    );
    let state = GuardrailState {
        last_action_at: Some(now() - chrono::Duration::minutes(15)),
        ..Default::default()
    };
    assert_eq!(
        decide_with(&deployment("shop"), &restart(), &Policy::default(), &state).decision,
        Decision::Run
    );
}

#[test]
fn the_hourly_budget_refuses_once_spent() {
    let state = GuardrailState {
        actions_last_hour: 20,
        ..Default::default()
    };
    let v = decide_with(&deployment("shop"), &restart(), &Policy::default(), &state);
    assert_eq!(
        v.reasons,
        vec![Reason::BudgetExhausted {
            used: 20,
            limit: 20
        }]
    );
    let state = GuardrailState {
        actions_last_hour: 19,
        ..Default::default()
    };
    assert_eq!(
        decide_with(&deployment("shop"), &restart(), &Policy::default(), &state).decision,
        Decision::Run
    );
}

#[test]
fn a_namespace_s_budget_refuses_only_that_namespace_and_never_a_node() {
    let state = GuardrailState {
        actions_last_hour: 5,
        namespace_actions_last_hour: 10,
        ..Default::default()
    };
    let v = decide_with(&deployment("shop"), &restart(), &Policy::default(), &state);
    assert_eq!(
        v.reasons,
        vec![Reason::NamespaceBudgetExhausted {
            namespace: "shop".into(),
            used: 10,
            limit: 10
        }]
    );
    assert_eq!(v.decision, Decision::Refuse);
    // The count is the target namespace's; a node has none.
    let under = GuardrailState {
        namespace_actions_last_hour: 9,
        ..state.clone()
    };
    assert_eq!(
        decide_with(&deployment("shop"), &restart(), &Policy::default(), &under).decision,
        Decision::Run
    );
    assert!(
        !codes(&decide_with(&node(), &drain(), &Policy::default(), &state))
            .contains(&"namespace-budget-exhausted")
    );
}

#[test]
fn the_circuit_breaker_opens_after_n_failures() {
    let state = GuardrailState {
        consecutive_failures: 3,
        ..Default::default()
    };
    let v = decide_with(&deployment("shop"), &restart(), &Policy::default(), &state);
    assert_eq!(codes(&v), ["circuit-open"]);
    let state = GuardrailState {
        consecutive_failures: 2,
        ..Default::default()
    };
    assert_eq!(
        decide_with(&deployment("shop"), &restart(), &Policy::default(), &state).decision,
        Decision::Run
    );
}

#[test]
fn replica_bounds_and_step_are_enforced() {
    let none = GuardrailState::default();
    assert_eq!(
        decide_with(&deployment("shop"), &scale(2), &Policy::default(), &none).decision,
        Decision::Run
    );
    let v = decide_with(&deployment("shop"), &scale(3), &Policy::default(), &none);
    assert_eq!(codes(&v), ["replica-bounds"]);
    assert_eq!(
        v.reasons[0].to_string(),
        "steps[0]: a change of 3 replicas is more than the maximum step of 2"
    );
    let at_max = GuardrailState {
        replicas: Some(6),
        ..Default::default()
    };
    let v = decide_with(&deployment("shop"), &scale(2), &Policy::default(), &at_max);
    assert_eq!(
        v.reasons[0].to_string(),
        "steps[0]: already at 6 replicas, the upper bound of [2, 6]"
    );
    let room = GuardrailState {
        replicas: Some(5),
        ..Default::default()
    };
    assert_eq!(
        decide_with(&deployment("shop"), &scale(2), &Policy::default(), &room).decision,
        Decision::Run
    );
}

#[test]
fn only_one_node_drains_at_a_time() {
    let state = GuardrailState {
        nodes: Some(NodeCounts {
            total: 10,
            unschedulable: 1,
            draining: 1,
        }),
        ..Default::default()
    };
    let v = decide_with(&node(), &drain(), &Policy::default(), &state);
    assert_eq!(codes(&v), ["drain-in-progress"]);
}

#[test]
fn never_more_than_the_share_of_nodes_unschedulable() {
    let state = GuardrailState {
        nodes: Some(NodeCounts {
            total: 3,
            unschedulable: 1,
            draining: 0,
        }),
        ..Default::default()
    };
    let v = decide_with(&node(), &drain(), &Policy::default(), &state);
    assert_eq!(
        v.reasons,
        vec![Reason::UnschedulableShare {
            after: 2,
            total: 3,
            limit: 0.34
        }]
    );
    assert_eq!(
        v.reasons[0].to_string(),
        "2 of 3 nodes would be unschedulable, over the limit of 34%"
    );
    let state = GuardrailState {
        nodes: Some(NodeCounts {
            total: 6,
            unschedulable: 1,
            draining: 0,
        }),
        ..Default::default()
    };
    assert_eq!(
        decide_with(&node(), &drain(), &Policy::default(), &state).decision,
        Decision::NeedsApproval
    );
}

#[test]
fn every_refusal_is_reported_not_just_the_first() {
    let state = GuardrailState {
        consecutive_failures: 5,
        actions_last_hour: 99,
        last_action_at: Some(now()),
        kill_switch: true,
        ..Default::default()
    };
    let v = decide_with(
        &deployment("kube-system"),
        &restart(),
        &Policy::default(),
        &state,
    );
    assert_eq!(v.decision, Decision::Refuse);
    assert_eq!(
        codes(&v),
        [
            "namespace-denied",
            "circuit-open",
            "cooldown",
            "budget-exhausted"
        ]
    );
}

#[test]
fn kill_switch_and_dry_run_settings_make_a_dry_run() {
    let kill = GuardrailState {
        kill_switch: true,
        ..Default::default()
    };
    let v = decide_with(&deployment("shop"), &restart(), &Policy::default(), &kill);
    assert_eq!(
        v,
        Verdict {
            decision: Decision::DryRun,
            reasons: vec![Reason::KillSwitch]
        }
    );
    let policy = Policy {
        dry_run: true,
        ..Policy::default()
    };
    let mut rb = drain();
    rb.dry_run = true;
    let v = decide_with(&node(), &rb, &policy, &kill);
    assert_eq!(
        codes(&v),
        ["kill-switch", "policy-dry-run", "runbook-dry-run"]
    );
    assert_eq!(v.decision, Decision::DryRun, "a dry run needs no approval");
}

#[test]
fn high_risk_needs_approval_unless_the_runbook_opts_out() {
    let v = decide_with(
        &node(),
        &drain(),
        &Policy::default(),
        &GuardrailState::default(),
    );
    assert_eq!(
        v,
        Verdict {
            decision: Decision::NeedsApproval,
            reasons: vec![Reason::ApprovalRequired { risk: Risk::High }]
        }
    );
    let mut rb = scale(-1);
    assert_eq!(
        decide_with(
            &deployment("shop"),
            &rb,
            &Policy::default(),
            &GuardrailState::default()
        )
        .decision,
        Decision::NeedsApproval
    );
    rb.approval = Some(Approval {
        required: false,
        timeout: PromDuration::from_secs(60),
        reason: Some("batch workers".into()),
    });
    assert_eq!(
        decide_with(
            &deployment("shop"),
            &rb,
            &Policy::default(),
            &GuardrailState::default()
        )
        .decision,
        Decision::Run
    );
}

#[test]
fn json_policies_are_checked_the_same_way() {
    assert!(Policy::from_json(r#"{"dry_run": true}"#).unwrap().dry_run);
    assert!(Policy::from_json(r#"{"circuit_breaker_failures": 0}"#).is_err());
    assert!(Policy::from_json(r#"{"dryrun": true}"#).is_err());
}

#[test]
fn policy_files_are_checked() {
    let p = Policy::from_yaml("dry_run: true\nhourly_action_budget: 5\n").unwrap();
    assert!(p.dry_run);
    assert_eq!(p.hourly_action_budget, 5);
    assert_eq!(p.denied_namespaces, Policy::default().denied_namespaces);
    let err = Policy::from_yaml("max_unschedulable_share: 1.5\n").unwrap_err();
    assert!(err.to_string().contains("max_unschedulable_share"), "{err}");
    let err = Policy::from_yaml("dry_runn: true\n").unwrap_err();
    assert!(err.to_string().contains("dry_runn"), "{err}");
    assert!(Policy::from_yaml("default_cluster: \"prod eu\"\n").is_err());
}

#[test]
fn reasons_serialize_with_their_code() {
    let json = serde_json::to_value(Reason::BudgetExhausted { used: 3, limit: 2 }).unwrap();
    assert_eq!(
        json,
        serde_json::json!({"code": "budget-exhausted", "used": 3, "limit": 2})
    );
}

#[test]
fn a_cluster_selfheal_does_not_remediate_is_refused() {
    let mut target = deployment("shop");
    target.cluster = "prod-eu".into();
    let v = decide_with(
        &target,
        &restart(),
        &Policy::default(),
        &GuardrailState::default(),
    );
    assert_eq!(v.decision, Decision::Refuse);
    assert_eq!(
        v.reasons,
        [Reason::UnknownCluster {
            cluster: "prod-eu".into()
        }]
    );
    assert_eq!(v.reasons[0].code(), "unknown-cluster");
    // A policy that names it remediates it.
    let policy = Policy::from_json(
        r#"{"default_cluster": "selfheal-dev", "clusters": ["selfheal-dev", "prod-eu"]}"#,
    )
    .unwrap();
    let v = decide_with(&target, &restart(), &policy, &GuardrailState::default());
    assert_eq!(v.decision, Decision::Run);
    // The default cluster must be one of them.
    let err = Policy::from_json(r#"{"default_cluster": "prod-us", "clusters": ["prod-eu"]}"#)
        .unwrap_err();
    assert!(err.to_string().contains("not in clusters"), "{err}");
}

#[test]
fn each_cluster_has_its_own_namespaces() {
    // As Terraform renders it from `clusters`: prod-eu's access entries allow `payments` only.
    let policy = Policy::from_json(
        r#"{"default_cluster": "selfheal-dev", "clusters": ["selfheal-dev", "prod-eu"],
            "allowed_namespaces": ["shop"], "cluster_namespaces": {"prod-eu": ["payments"]}}"#,
    )
    .unwrap();
    let decide_in = |cluster: &str, ns: &str| {
        let mut target = deployment(ns);
        target.cluster = cluster.into();
        codes(&decide_with(
            &target,
            &restart(),
            &policy,
            &GuardrailState::default(),
        ))
    };
    assert!(decide_in("prod-eu", "payments").is_empty());
    assert_eq!(decide_in("prod-eu", "shop"), ["namespace-not-allowed"]);
    // A cluster without its own list keeps allowed_namespaces.
    assert!(decide_in("selfheal-dev", "shop").is_empty());
    assert_eq!(
        decide_in("selfheal-dev", "payments"),
        ["namespace-not-allowed"]
    );
    // Namespaces for a cluster that is not remediated are a mistake in the policy.
    let err = Policy::from_json(
        r#"{"clusters": ["selfheal-dev"], "cluster_namespaces": {"prod-us": ["shop"]}}"#,
    )
    .unwrap_err();
    assert!(err.to_string().contains("\"prod-us\""), "{err}");
}
