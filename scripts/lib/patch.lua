-- wrk: PATCH a deployment's label with a merge patch (kube-sim benchmark).
wrk.method = "PATCH"
wrk.headers["Content-Type"] = "application/merge-patch+json"
counter = 0
request = function()
  counter = counter + 1
  wrk.body = '{"metadata":{"labels":{"bench":"' .. counter .. '"}}}'
  return wrk.format(nil)
end
