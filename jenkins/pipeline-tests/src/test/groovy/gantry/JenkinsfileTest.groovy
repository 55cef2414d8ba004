package gantry

import static org.junit.Assert.assertEquals
import static org.junit.Assert.assertFalse
import static org.junit.Assert.assertNull
import static org.junit.Assert.assertTrue

import org.junit.Before
import org.junit.Test

/** The repository's Jenkinsfile (the service pipeline), run under the declarative model with mocked steps. */
class JenkinsfileTest extends PipelineHarness {
  static final String DIGEST = 'sha256:' + 'ab' * 32
  static final String RELEASE_SHA = '0123456789abcdef0123456789abcdef01234567'
  static final String SMOKE = '3 checks passed'
  static final String CHANGE = 'Commits since 89abcdef0123: 2\n  0123456789ab fix (dev@example.com)'
  static final String APPROVERS = 'alice@example.com,bob@example.com'
  // What `gantry approve --print` prints: one JSON line whose signature has newlines of its own.
  static final String SIGNED = '{"signature":"-----BEGIN SSH SIGNATURE-----\\nU1NIU0lH\\n' +
                               '-----END SSH SIGNATURE-----\\n","statement":"{\\"approver\\":\\"bob@example.com\\"}"}'
  static final String IMPORT = 'gantry approve --env production --import approval.json --submitter "$APPROVER" --digest "$DIGEST"'
  static final String UNDO_RUN = 'gantry rollback --env production --changed-by-run'
  static final String RUN_SHOW = 'gantry run show > run-record.json || true'
  static final String BUILD_CREDENTIALS = 'example-gantry-build'
  static final String RELEASE_CREDENTIALS = 'example-gantry-release'
  static final List<String> STAGES = [
    'Build and stage', 'Checkout', 'Build and unit tests', 'Deploy staging', 'Approval', 'Production',
    'Release checkout', 'Production primary', 'Production secondary', 'Verify',
  ]
  static final List<String> PRODUCTION_STAGES = ['Production', 'Release checkout', 'Production primary',
                                                 'Production secondary', 'Verify']

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
      'gantry run show --field sha': RELEASE_SHA,
      'gantry smoke --env staging': SMOKE,
      'gantry approvers --env production': APPROVERS,
      'gantry change --env production': CHANGE,
    ])
    pasted.SIGNED_APPROVAL = SIGNED
  }

  /** A step that acts on production. Reading who may approve, what would change, the gate itself and the
   *  failure handler's rollback of only what this run changed do not count. */
  static boolean touchesProduction(String event) {
    return event.startsWith('sh:') && event.contains('--env production') &&
      !event.startsWith('sh:gantry approvers ') && !event.startsWith('sh:gantry approve ') &&
      !event.startsWith('sh:gantry change ') && !event.startsWith("sh:${UNDO_RUN}")
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
    assertEquals([], shells.findAll { RELEASE_CREDENTIALS in (it.credentials as List) })
  }

  /** What the pipeline-level post ran: the notice, then the finished run record, on a build agent. */
  protected void assertNotified(String status, String failedStage) {
    List<String> commands = shellCommands()
    assertEquals([notify(status), RUN_SHOW], commands.drop(commands.indexOf(notify(status))))
    String expanded = "gantry notify --status ${status} --stage \"${failedStage}\" --message \"${env.BUILD_URL}\""
    assertEquals(expanded, shellOnly(notify(status)).expanded)
    assertEquals('gantry-build', shellOnly(notify(status)).agent)
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
      'gantry run show --field sha',
      'gantry migrate --env staging',
      'gantry deploy --env staging',
      'gantry smoke --env staging',
      'gantry approvers --env production',
      'gantry change --env production',
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
    // Thin: every stage that does work does it through gantry (the approval is Jenkins' own input).
    List<String> leaves = STAGES - ['Build and stage', 'Production', 'Approval']
    assertEquals([], leaves.findAll { stage -> !stageEvents(stage).any { it.startsWith('sh:gantry ') } })
    assertEquals(['archive:run-record.json'], events.findAll { it.startsWith('archive:') })
  }

  @Test
  void theBuildStagesNeverHoldTheReleaseCredentials() {
    runPipeline()
    List<Map> build = shells.findAll { it.stage in ['Checkout', 'Build and unit tests', 'Deploy staging'] }
    assertTrue(build.size() > 5)
    // The commit under test is built, tested and staged on a build agent, with the build credentials alone.
    build.findAll { (it.command as String).startsWith('gantry ') }.each { Map shell ->
      assertEquals(shell.command as String, 'gantry-build', shell.agent)
      assertEquals(shell.command as String, [BUILD_CREDENTIALS], shell.credentials)
    }
    assertEquals([], shells.findAll { it.agent == 'gantry-release' && BUILD_CREDENTIALS in (it.credentials as List) })
  }

  @Test
  void productionRunsOnTheReleaseAgentWithTheReleaseCredentialsOnlyAfterTheApproval() {
    runPipeline()
    List<Map> release = shells.findAll { RELEASE_CREDENTIALS in (it.credentials as List) }
    assertEquals([IMPORT, 'gantry migrate --env production', 'gantry deploy --env production --region primary',
                  'gantry smoke --env production --region primary', 'gantry deploy --env production --region secondary',
                  'gantry smoke --env production --region secondary', 'gantry verify --env production'],
                 release*.command)
    release.each { assertEquals(it.command as String, 'gantry-release', it.agent) }
    int approved = indexOfOnly('milestone:200')
    int firstBinding = indexOfFirst('release credentials') { it == "withCredentials:${RELEASE_CREDENTIALS}".toString() }
    assertTrue('the release credentials are bound only after the approval', approved < firstBinding)
    // Every production step runs with them, on the release agent; no other step does.
    assertEquals([], shells.findAll { touchesProduction("sh:${it.command}") && it.agent != 'gantry-release' })
  }

  @Test
  void theApprovalWaitsOnNoAgentAndTheReleaseAgentChecksOutTheProtectedBranch() {
    runPipeline()
    assertEquals([[name: 'none', args: []]], runner.pipeline.agent)
    assertEquals(['milestone:100', 'input', 'milestone:200'], stageEvents('Approval'))
    assertEquals([], shells.findAll { it.stage == 'Approval' })  // no agent, no shell: Jenkins' input alone
    // The release workspace is the job's own checkout (the protected branch), not the build's.
    assertEquals(['checkout', "withCredentials:${RELEASE_CREDENTIALS}".toString(), 'writeFile:approval.json',
                  "sh:${IMPORT}".toString()].toSet(), stageEvents('Release checkout').toSet())
    assertTrue(stageEvents('Release checkout').indexOf('checkout') < stageEvents('Release checkout').indexOf("sh:${IMPORT}".toString()))
    assertFalse(shells.any { it.agent == 'gantry-release' && (it.command as String).startsWith('git checkout') })
  }

  @Test
  void oneRunRecordPerBuildAndTheBuildOptions() {
    runPipeline()
    assertEquals('jenkins-example-pipeline-42', env.GANTRY_RUN_ID)
    // The post sends the run's one notice; a failing step on a release agent does not send a second.
    assertEquals('false', env.GANTRY_NOTIFY_ON_FAILURE)
    // logRotator(...) is buildDiscarder's argument, so it is called just before it.
    assertEquals(['timestamps', 'timeout', 'logRotator', 'buildDiscarder', 'disableConcurrentBuilds',
                  'skipDefaultCheckout'], runner.pipeline.options*.name)
    assertEquals('logRotator', (runner.pipeline.options.find { it.name == 'buildDiscarder' }.args[0] as Map).name)
    assertEquals([[time: 3, unit: 'HOURS']], runner.pipeline.options.find { it.name == 'timeout' }.args)
  }

  Map<String, Map> declared() {
    return runner.pipeline.parameters.collectEntries { call -> [((call.args[0] as Map).name): [kind: call.name] + (call.args[0] as Map)] }
  }

  @Test
  void theCustomerAndTheConfigurationAreJobConstantsNotParameters() {
    // Values no fallback in the Jenkinsfile has, so only the job's own values can produce them.
    params.putAll(CUSTOMER: 'acme', SERVICE: 'billing', GANTRY_CONFIG: 'environments/acme/aws.yaml',
                  APPROVAL_TIMEOUT_MINUTES: '45', SHA: RELEASE_SHA)
    runPipeline()
    Map<String, Map> found = declared()
    assertEquals(['CUSTOMER', 'SERVICE', 'GANTRY_CONFIG', 'SHA', 'APPROVAL_TIMEOUT_MINUTES'], found.keySet() as List)
    // A choice parameter with one choice: Jenkins refuses any other value when a build starts.
    ['CUSTOMER': 'acme', 'SERVICE': 'billing', 'GANTRY_CONFIG': 'environments/acme/aws.yaml'].each { name, value ->
      assertEquals(name, 'choice', found[name].kind)
      assertEquals(name, [value], found[name].choices)
    }
    assertEquals('string', found.SHA.kind)
    assertEquals('', found.SHA.defaultValue)  // SHA is per build: the next one defaults to the branch head again
    assertEquals([time: 45, unit: 'MINUTES'], inputs[0].timeout)
    assertTrue(events.contains('lock:acme-production-primary'))
    assertTrue(events.contains('withCredentials:acme-gantry-release'))
  }

  @Test
  void parameterDefaultsFallBackWhenTheJobDefinesNone() {
    params.clear()
    failOn = 'up'  // the defaults are declared before any stage runs; stop the build right there
    runPipeline()
    assertEquals(['example'], declared().CUSTOMER.choices)
    assertEquals(['environments/example/local.yaml'], declared().GANTRY_CONFIG.choices)
    assertNoProduction('FAILURE')
  }

  @Test
  void approvalGateComesBeforeAnyProductionStep() {
    runPipeline()
    int gate = indexOfOnly("sh:${IMPORT}".toString())
    int firstProduction = indexOfFirst('production step') { touchesProduction(it) }
    assertTrue('the approval is imported before production', gate < firstProduction)
    assertEquals([], events.take(gate).findAll { touchesProduction(it) })
    assertEquals(6, events.findAll { touchesProduction(it) }.size())
  }

  @Test
  void theApproverIsShownWhatTheySign() {
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
    [DIGEST, RELEASE_SHA, SMOKE, CHANGE, 'environments/example/local.yaml'].each {
      assertTrue("the input shows ${it}: ${message}", message.contains(it))
    }
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
    assertNotified('aborted', 'Approval')
  }

  @Test
  void signedApprovalIsWrittenOnTheReleaseAgentAndImportedAsTheApprovingUser() {
    approvingUser = 'bob@example.com'  // the second approver listed: the submitter must be who clicked
    runPipeline()
    assertEquals('SUCCESS', runner.result)
    assertEquals('bob@example.com', env.APPROVER)
    assertEquals(['approval.json': SIGNED], files)
    Map gate = shellOnly(IMPORT)
    String imported = ((gate.command as String) =~ /--import (\S+)/)[0][1]
    assertTrue("imports the file written: ${imported}", files.containsKey(imported))
    assertEquals('gantry approve --env production --import approval.json --submitter "bob@example.com" --digest "' +
                 DIGEST + '"', gate.expanded)
    assertEquals('gantry-release', gate.agent)
    assertTrue(indexOfOnly('writeFile:approval.json') < indexOfOnly("sh:${IMPORT}".toString()))
  }

  @Test
  void anEmptyPasteIsStillCheckedByGantry() {
    // The approver stored their approval with `gantry approve` themselves: gantry checks that the approval of
    // the staged digest is theirs (the release agent's run has no release until then).
    pasted.SIGNED_APPROVAL = ''
    runPipeline()
    assertEquals(['approval.json': ''], files)
    assertEquals('gantry approve --env production --import approval.json --submitter "alice@example.com" --digest "' +
                 DIGEST + '"', shellOnly(IMPORT).expanded)
  }

  @Test
  void gantryRefusingTheApprovalStopsBeforeAnyProductionChange() {
    failOn = 'approve --env production'
    runPipeline()
    assertEquals('FAILURE', runner.result)
    assertEquals([], events.findAll { touchesProduction(it) })
    assertEquals(['Production primary', 'Production secondary', 'Verify'], runner.skipped)
    assertEquals(UNDO_RUN, shells.find { it.command == UNDO_RUN }?.command)  // a no-op: nothing changed yet
    assertNotified('failure', 'Release checkout')
  }

  @Test
  void approvalTimeoutComesFromTheJobParameter() {
    params.APPROVAL_TIMEOUT_MINUTES = '15'
    runPipeline()
    assertEquals([time: 15, unit: 'MINUTES'], inputs[0].timeout)
  }

  @Test
  void rejectedApprovalNotifiesAbortedAndNeverReachesTheReleaseAgent() {
    answer = 'reject'
    runPipeline()
    assertNoProduction('ABORTED')
    assertEquals([], events.findAll { it == 'milestone:200' || it.startsWith('writeFile:') })
    assertEquals([], shells.findAll { it.agent == 'gantry-release' })
    assertNotified('aborted', 'Approval')
  }

  @Test
  void approvalTimeoutAbortsBeforeProduction() {
    answer = 'timeout'
    runPipeline()
    assertNoProduction('ABORTED')
    assertNotified('aborted', 'Approval')
  }

  @Test
  void anAnswerWithoutTheApprovalParametersNeverReachesProduction() {
    answer = 'proceedEmpty'  // Jenkins' proceedEmpty returns null: no approver, no signed approval
    runPipeline()
    assertNoProduction('FAILURE')
    assertFalse(shellCommands().contains(IMPORT))
    assertNotified('failure', 'Approval')
  }

  @Test
  void aStagingFailureStopsBeforeTheApprovalAndNamesTheFailedStage() {
    failOn = 'deploy --env staging'
    runPipeline()
    assertTrue(inputs.isEmpty())
    assertNoProduction('FAILURE')
    assertFalse(shellCommands().contains(UNDO_RUN))  // production was never touched: nothing to roll back
    assertNotified('failure', 'Deploy staging')
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
  void primaryFailureStopsBeforeTheSecondaryRegionAndRollsBackOnTheReleaseAgent() {
    failOn = 'deploy --env production --region primary'
    runPipeline()
    assertEquals('FAILURE', runner.result)
    assertFalse(shellCommands().any { it.contains('--region secondary') })
    assertTrue(indexOfOnly('unlock:example-production-primary') > indexOfOnly('lock:example-production-primary'))
    assertEquals(['Production secondary', 'Verify'], runner.skipped)
    Map undo = shellOnly(UNDO_RUN)
    assertEquals('gantry-release', undo.agent)
    assertEquals([RELEASE_CREDENTIALS], undo.credentials)
    assertNotified('failure', 'Production primary')
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
    assertNotified('failure', 'Production secondary')
  }

  @Test
  void requestedShaIsCheckedOutOnTheBuildAgentBeforeAnyGantryCommand() {
    params.SHA = RELEASE_SHA
    runPipeline()
    assertEquals('SUCCESS', runner.result)
    assertEquals(['git checkout --detach "$SHA"', 'gantry up', 'gantry source'], shellCommands().take(3))
    assertEquals("git checkout --detach \"${RELEASE_SHA}\"".toString(), shells[0].expanded)
    assertEquals('gantry-build', shells[0].agent)
    assertNull(shells.find { it.agent == 'gantry-release' && (it.command as String).contains('SHA') })
  }
}
