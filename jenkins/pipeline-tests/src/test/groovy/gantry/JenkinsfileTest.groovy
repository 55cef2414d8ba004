package gantry

import static org.junit.Assert.assertEquals
import static org.junit.Assert.assertFalse
import static org.junit.Assert.assertTrue

import org.junit.Before
import org.junit.Test

/** The repository's Jenkinsfile (the service pipeline), run under the declarative model with mocked steps. */
class JenkinsfileTest extends PipelineHarness {
  static final String DIGEST = 'sha256:' + 'ab' * 32
  static final String SMOKE = '3 checks passed'
  static final String APPROVERS = 'alice@example.com,bob@example.com'
  // What `gantry approve --print` prints: one JSON line whose signature has newlines of its own.
  static final String SIGNED = '{"signature":"-----BEGIN SSH SIGNATURE-----\\nU1NIU0lH\\n' +
                               '-----END SSH SIGNATURE-----\\n","statement":"{\\"approver\\":\\"bob@example.com\\"}"}'
  static final String IMPORT = 'gantry approve --env production --import approval.json --submitter "$APPROVER"'
  static final String UNDO_RUN = 'gantry rollback --env production --changed-by-run'
  static final String RUN_SHOW = 'gantry run show > run-record.json || true'
  static final List<String> STAGES = [
    'Checkout', 'Mirror', 'Base image', 'Build and unit tests', 'Push and replicate', 'Deploy staging', 'Smoke test',
    'Approval', 'Deploy production', 'Production primary', 'Production secondary', 'Verify',
  ]
  static final List<String> PRODUCTION_STAGES = ['Deploy production', 'Production primary', 'Production secondary',
                                                 'Verify']

  @Override
  File pipelineFile() {
    return new File(System.getProperty('jenkinsfile', '../../Jenkinsfile'))
  }

  @Before
  void prepare() {
    setUp()
    // The job's current values, as Jenkins Job Builder renders them (jenkins/jobs/service-pipeline.yaml).
    params.putAll(CUSTOMER: 'example', SERVICE: 'cart', GANTRY_CONFIG: 'environments/example/local.yaml', SHA: '',
                  APPROVAL_TIMEOUT_MINUTES: '60')
    outputs.putAll([
      'gantry run show --field digest': DIGEST,
      'gantry smoke --env staging': SMOKE,
      'gantry approvers --env production': APPROVERS,
    ])
    pasted.SIGNED_APPROVAL = SIGNED
  }

  /** A step that acts on production. Reading who may approve, the gate itself and the failure handler's
   *  rollback of only what this run changed (a no-op before production) do not count. */
  static boolean touchesProduction(String event) {
    return event.startsWith('sh:') && event.contains('--env production') &&
      !event.startsWith('sh:gantry approvers ') && !event.startsWith('sh:gantry approve ') &&
      !event.startsWith("sh:${UNDO_RUN}")
  }

  String notify(String status) {
    return "gantry notify --status ${status} --stage \"\${GANTRY_LAST_STAGE:-unknown}\" --message \"\$BUILD_URL\""
  }

  protected void assertNoProduction(String expectedResult) {
    assertEquals(expectedResult, runner.result)
    assertEquals([], events.findAll { touchesProduction(it) })
    assertEquals([], events.findAll { it.startsWith('lock:') })
    assertEquals([], runner.executed.intersect(PRODUCTION_STAGES))
    assertEquals(PRODUCTION_STAGES, runner.skipped.intersect(PRODUCTION_STAGES))
  }

  /** What the post section ran: rollback of this run's changes, the notice, then the finished run record. */
  protected void assertRolledBackAndNotified(String status, String failedStage) {
    List<String> commands = shellCommands()
    assertEquals([UNDO_RUN, notify(status), RUN_SHOW], commands.drop(commands.indexOf(UNDO_RUN)))
    String expanded = "gantry notify --status ${status} --stage \"${failedStage}\" --message \"${env.BUILD_URL}\""
    assertEquals(expanded, shellOnly(notify(status)).expanded)
    assertTrue(events.contains('archive:run-record.json'))
    assertFalse(commands.any { it.startsWith('gantry notify --status success') })
  }

  @Test
  void stagesRunInOrderAndEachCallsGantry() {
    runPipeline()
    assertEquals('SUCCESS', runner.result)
    assertEquals(STAGES, runner.executed)
    assertEquals([], runner.skipped)
    assertEquals([
      'gantry up',
      'gantry source',
      'gantry mirror',
      'gantry base-image',
      'gantry build',
      'gantry push',
      'gantry run show --field digest',
      'gantry migrate --env staging',
      'gantry deploy --env staging',
      'gantry smoke --env staging',
      'gantry approvers --env production',
      IMPORT,
      'gantry migrate --env production',
      'gantry deploy --env production --region primary',
      'gantry smoke --env production --region primary',
      'gantry deploy --env production --region secondary',
      'gantry smoke --env production --region secondary',
      'gantry verify --env production',
      'gantry notify --status success --message "$BUILD_URL"',
      RUN_SHOW,
    ], shellCommands())
    // Thin: every stage that does work does it through gantry.
    List<String> leaves = STAGES - ['Deploy production']
    assertEquals([], leaves.findAll { stage -> !stageEvents(stage).any { it.startsWith('sh:gantry ') } })
    assertEquals(['archive:run-record.json'], events.findAll { it.startsWith('archive:') })
  }

  @Test
  void oneRunRecordPerBuildAndTheBuildOptions() {
    runPipeline()
    assertEquals('jenkins-example-pipeline-42', env.GANTRY_RUN_ID)
    assertEquals([[name: 'label', args: ['gantry']]], runner.pipeline.agent)
    // logRotator(...) is buildDiscarder's argument, so it is called just before it.
    assertEquals(['timestamps', 'timeout', 'logRotator', 'buildDiscarder', 'disableConcurrentBuilds',
                  'skipDefaultCheckout'], runner.pipeline.options*.name)
    assertEquals('logRotator', (runner.pipeline.options.find { it.name == 'buildDiscarder' }.args[0] as Map).name)
    assertEquals([[time: 3, unit: 'HOURS']], runner.pipeline.options.find { it.name == 'timeout' }.args)
    // The parameters the job defines (jenkins/jobs/service-pipeline.yaml); none names who may approve.
    assertEquals(['CUSTOMER', 'SERVICE', 'GANTRY_CONFIG', 'SHA', 'APPROVAL_TIMEOUT_MINUTES'],
                 runner.pipeline.parameters.collect { (it.args[0] as Map).name })
    assertEquals(['string'], runner.pipeline.parameters*.name.unique())
  }

  Map<String, String> declaredDefaults() {
    return runner.pipeline.parameters.collectEntries { call ->
      Map parameter = call.args[0] as Map
      [(parameter.name): parameter.defaultValue]
    }
  }

  @Test
  void parameterDefaultsAreTheJobsCurrentValues() {
    // Values no fallback in the Jenkinsfile has, so only the job's own values can produce them.
    params.putAll(CUSTOMER: 'acme', SERVICE: 'billing', GANTRY_CONFIG: 'environments/acme/aws.yaml',
                  APPROVAL_TIMEOUT_MINUTES: '45', SHA: '0123456789abcdef0123456789abcdef01234567')
    runPipeline()
    // SHA is per build: whatever this build deployed, the next one defaults to the branch head again.
    assertEquals([CUSTOMER: 'acme', SERVICE: 'billing', GANTRY_CONFIG: 'environments/acme/aws.yaml', SHA: '',
                  APPROVAL_TIMEOUT_MINUTES: '45'], declaredDefaults())
    assertEquals([time: 45, unit: 'MINUTES'], inputs[0].timeout)
    assertTrue(events.contains('lock:acme-production-primary'))
    assertTrue(events.contains('lock:acme-production-secondary'))
  }

  @Test
  void parameterDefaultsFallBackWhenTheJobDefinesNone() {
    params.clear()
    failOn = 'up'  // the defaults are declared before any stage runs; stop the build right there
    runPipeline()
    assertEquals([CUSTOMER: 'example', SERVICE: 'cart', GANTRY_CONFIG: 'environments/example/local.yaml', SHA: '',
                  APPROVAL_TIMEOUT_MINUTES: '60'], declaredDefaults())
    assertNoProduction('FAILURE')
  }

  @Test
  void approvalGateComesBeforeAnyProductionStep() {
    runPipeline()
    // Milestones on both sides of the input (an older build can never deploy over a newer one), the approvers
    // read from the target first, the signed approval imported last.
    assertEquals(['milestone:100', 'sh:gantry approvers --env production', 'input', 'writeFile:approval.json',
                  'milestone:200', "sh:${IMPORT}".toString()], stageEvents('Approval'))
    int gate = indexOfOnly("sh:${IMPORT}".toString())
    int firstProduction = indexOfFirst('production step') { touchesProduction(it) }
    assertTrue('the approval is imported before production', gate < firstProduction)
    assertEquals([], events.take(gate).findAll { touchesProduction(it) })
    assertEquals(6, events.findAll { touchesProduction(it) }.size())
  }

  @Test
  void submitterIsExactlyTheListGantryApproversPrinted() {
    outputs['gantry approvers --env production'] = 'carol@example.com,dave@example.com'
    approvingUser = 'dave@example.com'  // in no Jenkins group: allowed by the list alone
    runPipeline()
    assertEquals('SUCCESS', runner.result)
    assertEquals(1, inputs.size())
    Map input = inputs[0]
    assertEquals('carol@example.com,dave@example.com', input.submitter)
    assertEquals('APPROVER', input.submitterParameter)
    assertEquals('ProductionApproval', input.id)  // what `gantry jenkins approve` answers
    assertEquals([[kind: 'text', name: 'SIGNED_APPROVAL', defaultValue: '']],
                 (input.parameters as List<Map>).collect { it.subMap(['kind', 'name', 'defaultValue']) })
    String message = input.message as String
    assertTrue(message, message.contains(DIGEST))
    assertTrue(message, message.contains(SMOKE))
    assertTrue(message, message.contains("gantry approve --env production --digest ${DIGEST}"))
  }

  @Test
  void buildParametersCannotWidenWhoMayApprove() {
    // Whoever starts the build passes an APPROVERS parameter (Jenkins exposes it in the environment too).
    params.APPROVERS = 'mallory@example.com'
    env.APPROVERS = 'mallory@example.com'
    approvingUser = 'mallory@example.com'
    runPipeline()
    assertEquals(APPROVERS, inputs[0].submitter)
    assertNoProduction('ABORTED')
  }

  @Test
  void someoneOutsideTheApproversCannotApprove() {
    // mallory may start builds (Job/Build) but is not in the list: the input waits for a listed approver.
    approvingUser = 'mallory@example.com'
    runPipeline()
    assertNoProduction('ABORTED')
    assertFalse(shellCommands().contains(IMPORT))
    assertRolledBackAndNotified('aborted', 'Approval')
  }

  @Test
  void signedApprovalIsWrittenToAFileAndImportedAsTheApprovingUser() {
    approvingUser = 'bob@example.com'  // the second approver listed: the submitter must be who clicked
    runPipeline()
    assertEquals('SUCCESS', runner.result)
    assertEquals('bob@example.com', env.APPROVER)
    assertEquals(['approval.json': SIGNED], files)
    Map gate = shellOnly(IMPORT)
    String imported = ((gate.command as String) =~ /--import (\S+)/)[0][1]
    assertTrue("imports the file written: ${imported}", files.containsKey(imported))
    assertEquals('gantry approve --env production --import approval.json --submitter "bob@example.com"', gate.expanded)
    assertTrue(indexOfOnly('writeFile:approval.json') < indexOfOnly("sh:${IMPORT}".toString()))
  }

  @Test
  void anEmptyPasteIsStillCheckedByGantry() {
    // The approver stored their approval with `gantry approve` themselves: gantry checks it is theirs.
    pasted.SIGNED_APPROVAL = ''
    runPipeline()
    assertEquals(['approval.json': ''], files)
    assertEquals('gantry approve --env production --import approval.json --submitter "alice@example.com"',
                 shellOnly(IMPORT).expanded)
  }

  @Test
  void gantryRefusingTheApprovalStopsBeforeProduction() {
    failOn = 'approve --env production'
    runPipeline()
    assertNoProduction('FAILURE')
    assertRolledBackAndNotified('failure', 'Approval')
  }

  @Test
  void approvalTimeoutComesFromTheJobParameter() {
    params.APPROVAL_TIMEOUT_MINUTES = '15'
    runPipeline()
    assertEquals([time: 15, unit: 'MINUTES'], inputs[0].timeout)
  }

  @Test
  void rejectedApprovalRollsBackAndNotifiesAborted() {
    answer = 'reject'
    runPipeline()
    assertNoProduction('ABORTED')
    assertEquals([], events.findAll { it == 'milestone:200' || it.startsWith('writeFile:') })
    assertRolledBackAndNotified('aborted', 'Approval')
  }

  @Test
  void approvalTimeoutAbortsBeforeProduction() {
    answer = 'timeout'
    runPipeline()
    assertNoProduction('ABORTED')
    assertRolledBackAndNotified('aborted', 'Approval')
  }

  @Test
  void anAnswerWithoutTheApprovalParametersNeverReachesProduction() {
    answer = 'proceedEmpty'  // Jenkins' proceedEmpty returns null: no approver, no signed approval
    runPipeline()
    assertNoProduction('FAILURE')
    assertFalse(shellCommands().contains(IMPORT))
    assertRolledBackAndNotified('failure', 'Approval')
  }

  @Test
  void failureRollsBackWhatTheRunChangedThenNamesTheFailedStage() {
    failOn = 'deploy --env staging'
    runPipeline()
    assertTrue(inputs.isEmpty())
    assertNoProduction('FAILURE')
    assertRolledBackAndNotified('failure', 'Deploy staging')
  }

  @Test
  void productionDeploysRegionByRegionEachUnderItsOwnLock() {
    runPipeline()
    List<String> production = events.findAll { it.startsWith('lock:') || it.startsWith('unlock:') ||
                                                touchesProduction(it) }
    assertEquals([
      'lock:example-production-primary',
      'sh:gantry migrate --env production',
      'sh:gantry deploy --env production --region primary',
      'sh:gantry smoke --env production --region primary',
      'unlock:example-production-primary',
      'lock:example-production-secondary',
      'sh:gantry deploy --env production --region secondary',
      'sh:gantry smoke --env production --region secondary',
      'unlock:example-production-secondary',
      'sh:gantry verify --env production',
    ], production)
  }

  @Test
  void primaryFailureStopsBeforeTheSecondaryRegion() {
    failOn = 'deploy --env production --region primary'
    runPipeline()
    assertEquals('FAILURE', runner.result)
    assertFalse(shellCommands().any { it.contains('--region secondary') })
    assertTrue(indexOfOnly('unlock:example-production-primary') > indexOfOnly('lock:example-production-primary'))
    assertEquals(['Production secondary', 'Verify'], runner.skipped)
    assertRolledBackAndNotified('failure', 'Production primary')
  }

  @Test
  void secondaryFailureRollsBackThePrimaryBeforeNotifying() {
    failOn = 'deploy --env production --region secondary'
    runPipeline()
    assertEquals('FAILURE', runner.result)
    int deployed = indexOfOnly('sh:gantry deploy --env production --region primary')
    int undo = indexOfOnly("sh:${UNDO_RUN}".toString())
    int notice = indexOfOnly("sh:${notify('failure')}".toString())
    assertTrue('the primary region is rolled back', deployed < undo)
    assertTrue('before the failure notice', undo < notice)
    assertRolledBackAndNotified('failure', 'Production secondary')
  }

  @Test
  void requestedShaIsCheckedOutBeforeAnyGantryCommand() {
    String sha = '0123456789abcdef0123456789abcdef01234567'
    params.SHA = sha
    runPipeline()
    assertEquals('SUCCESS', runner.result)
    assertEquals(['git checkout --detach "$SHA"', 'gantry up', 'gantry source'], shellCommands().take(3))
    assertEquals("git checkout --detach \"${sha}\"".toString(), shells[0].expanded)
    assertTrue(indexOfOnly('checkout') < indexOfOnly('sh:git checkout --detach "$SHA"'))
  }
}
