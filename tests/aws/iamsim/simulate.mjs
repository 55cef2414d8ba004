// Evaluates IAM requests the way AWS does, with @cloud-copilot/iam-simulate (identity policies, resource
// policies, service control policies, explicit denies, conditions). Test tool of tests/aws/least_privilege.py.
// Input on stdin: {requests: [{principal, action, resource, context}], identityPolicies: {principal: [policy]},
// resourcePolicies: {resource: policy}, scps: [policy]}. Output: one JSON line per request with the decision
// and the statements that decided it. Reads nothing but its input and its own package data: no network.
import { runSimulation, getGrantReasons, getDenialReasons } from '@cloud-copilot/iam-simulate'

const chunks = []
for await (const chunk of process.stdin) chunks.push(chunk)
const input = JSON.parse(Buffer.concat(chunks).toString('utf8'))
const account = (arn) => arn.split(':')[4] || ''
const named = (prefix, list = []) => list.map((policy, i) => ({ name: `${prefix}${i + 1}`, policy }))
// An SCP list holding only Deny statements would deny everything: AWS Organizations' default FullAWSAccess
// stands beside the customer's SCPs.
const full = { Version: '2012-10-17', Statement: [{ Effect: 'Allow', Action: '*', Resource: '*' }] }
const scps = input.scps?.length
  ? [{ orgIdentifier: 'root', policies: [{ name: 'FullAWSAccess', policy: full }, ...named('scp', input.scps)] }]
  : []

for (const request of input.requests) {
  const simulation = {
    request: {
      principal: request.principal,
      action: request.action,
      resource: { resource: request.resource, accountId: account(request.resource) || account(request.principal) },
      // aws:PrincipalArn is not filled in by the simulator: the caller's ARN, as AWS sets it.
      contextVariables: { 'aws:PrincipalArn': request.principal, ...(request.context ?? {}) },
    },
    identityPolicies: named('identity', input.identityPolicies?.[request.principal]),
    serviceControlPolicies: scps,
    resourceControlPolicies: [],
    resourcePolicy: input.resourcePolicies?.[request.resource],
  }
  const result = await runSimulation(simulation, { simulationMode: 'Strict' })
  const out = { principal: request.principal, action: request.action, resource: request.resource }
  if (result.resultType === 'error') {
    out.decision = 'Error'
    out.errors = result.errors
  } else {
    out.decision = result.overallResult
    const results = result.resultType === 'single' ? [result.result] : result.results
    const analysis = results[0]?.analysis
    if (analysis) {
      out.decidedBy = analysis.result === 'Allowed' ? getGrantReasons(analysis) : getDenialReasons(analysis)
    }
    const ignored = results.flatMap((r) => r.ignoredContextKeys ?? []).filter((k) => k !== 'aws:principalarn')
    if (ignored.length) out.ignoredContextKeys = ignored
  }
  console.log(JSON.stringify(out))
}
