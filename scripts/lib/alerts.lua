-- wrk: POST /alerts with a new alert episode on a new pod per request (each one accepted: a
-- claim, a triage, a reservation, a start), or the same notification again when
-- SELFHEAL_REPEAT=1 (Alertmanager's re-sends: each one a duplicate).
local counter = 0
local repeat_same = os.getenv("SELFHEAL_REPEAT") == "1"
local headers = { ["Authorization"] = "Bearer bench-token", ["Content-Type"] = "application/json" }
request = function()
  if not repeat_same then counter = counter + 1 end
  local body = string.format(
    '{"version":"4","status":"firing","receiver":"selfheal","alerts":[{"status":"firing",' ..
    '"labels":{"alertname":"KubePodCrashLooping","severity":"warning","namespace":"shop","pod":"bench-%d"},' ..
    '"startsAt":"2026-11-25T21:30:00Z"}]}', counter)
  return wrk.format("POST", "/alerts", headers, body)
end
