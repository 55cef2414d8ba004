package gantry

import static org.junit.Assert.assertEquals
import static org.junit.Assert.assertFalse
import static org.junit.Assert.assertTrue

import org.junit.Before
import org.junit.Test

class JenkinsfileTest extends JenkinsfileHarness {
  static final List<String> HAPPY_STAGES = [
    'Checkout', 'Build and unit tests', 'Push and replicate', 'Deploy staging', 'Smoke test', 'Approval',
    'Deploy production', 'Production primary', 'Production secondary', 'Verify',
  ]

  @Before
  void prepare() {
    setUp()
  }

  static final String UNDO_RUN = 'gantry rollback --env production --changed-by-run'

  // The failure handler's rollback only undoes what this run changed (a no-op before production), so it
  // does not count as touching production.
  protected boolean touchesProduction(String event) {
    return event.startsWith('sh:') && event.contains('--env production') && !event.contains(UNDO_RUN)
  }

  @Test
  void stagesRunInOrderAndEachCallsOneGantryCommand() {
    runJenkinsfile()
    assertEquals('SUCCESS', runner.result)
    assertEquals(HAPPY_STAGES, runner.executed)
    assertEquals(['Image scan'], runner.skipped)
    assertEquals([
      'gantry source',
      'gantry build',
      'gantry push',
      'gantry run show --field digest',
      'gantry deploy --env staging',
      'gantry smoke --env staging',
      'gantry approve --approver "$APPROVER" --digest "$DIGEST" --build-url "$BUILD_URL"',
      'gantry deploy --env production --region primary',
      'gantry smoke --env production --region primary',
      'gantry deploy --env production --region secondary',
      'gantry smoke --env production --region secondary',
      'gantry verify --env production',
      'gantry run show > run-record.json || true',
      'gantry notify --status success --message "$BUILD_URL"',
    ], shellCommands())
    assertTrue(events.contains('archive:run-record.json'))
  }

  @Test
  void runIdIsTheBuildTagAndOptionsAreSet() {
    runJenkinsfile()
    assertEquals('jenkins-example-cart-pipeline-42', env.GANTRY_RUN_ID)
    List<String> options = runner.pipeline.options*.name
    assertTrue(options.containsAll(['timestamps', 'timeout', 'buildDiscarder', 'disableConcurrentBuilds']))
    assertEquals(['CUSTOMER', 'SERVICE', 'GANTRY_CONFIG', 'SHA', 'APPROVAL_TIMEOUT_MINUTES', 'IMAGE_SCANNER'], runner.pipeline.parameters.collect { (it.args[0] as Map).name })
    // Defaults come from the job's current values, so Jenkins Job Builder stays the source of truth.
    Map customer = runner.pipeline.parameters[0].args[0] as Map
    assertEquals('example', customer.defaultValue)
  }

  @Test
  void imageScanRunsTheConfiguredScannerOnTheStagedDigest() {
    params.IMAGE_SCANNER = 'trivy image --exit-code 1'
    runJenkinsfile()
    assertTrue(runner.executed.contains('Image scan'))
    String scan = shellCommands().find { it.contains('$IMAGE_SCANNER') }
    assertTrue(scan.contains('gantry run show --field references'))
    assertTrue(scan.contains('$IMAGE_SCANNER "$ref"'))
    assertTrue('scans what was pushed', shellCommands().indexOf('gantry push') < shellCommands().indexOf(scan))
    assertTrue('scans before staging', shellCommands().indexOf(scan) < shellCommands().indexOf('gantry deploy --env staging'))
  }

  @Test
  void approvalGateComesBeforeAnyProductionStep() {
    runJenkinsfile()
    int input = events.indexOf('input')
    int firstProduction = indexOfEvent { touchesProduction(it) }
    int approve = indexOfEvent { it.startsWith('sh:gantry approve') }
    assertTrue(input >= 0 && firstProduction > input)
    assertTrue('approval is recorded before production', approve > input && approve < firstProduction)
    assertTrue('milestone before the input', events.indexOf('milestone:100') < input)
    assertTrue('milestone after the input', events.indexOf('milestone:200') in (input + 1)..<approve)
    assertEquals('alice', env.APPROVER)
  }

  @Test
  void approvalIsRestrictedToTheApproversGroupAndRecordsWhoApproved() {
    runJenkinsfile()
    assertEquals(1, inputs.size())
    Map input = inputs[0]
    assertEquals('approvers', input.submitter)
    assertEquals('APPROVER', input.submitterParameter)
    assertTrue('input waits inside a timeout', input.insideTimeout as boolean)
    assertTrue((input.message as String).contains(DIGEST))
    assertTrue((input.message as String).contains(SMOKE))
    assertEquals([time: 60, unit: 'MINUTES'], timeouts.find { it.unit == 'MINUTES' })
  }

  @Test
  void timeoutComesFromTheJobParameter() {
    params.APPROVAL_TIMEOUT_MINUTES = '15'
    runJenkinsfile()
    assertEquals(15, timeouts.find { it.unit == 'MINUTES' }.time)
  }

  @Test
  void whoeverStartsTheBuildCannotChooseTheApprovers() {
    // A build parameter naming another group must not widen who may approve.
    params.APPROVERS_GROUP = 'developers'
    approvingUser = 'mallory'
    runJenkinsfile()
    assertEquals('approvers', inputs[0].submitter)
    assertNoProduction('ABORTED')
  }

  protected void assertNoProduction(String expectedResult) {
    assertEquals(expectedResult, runner.result)
    assertFalse(events.any { touchesProduction(it) })
    assertFalse(shellCommands().any { it.startsWith('gantry approve') })
    assertFalse(events.contains('milestone:200'))
    assertFalse(runner.executed.contains('Production primary'))
    assertTrue(runner.skipped.containsAll(['Deploy production', 'Verify']))
  }

  @Test
  void rejectedApprovalNeverReachesProduction() {
    approval = 'reject'
    runJenkinsfile()
    assertNoProduction('ABORTED')
    assertTrue(shellCommands().contains(
      'gantry notify --status aborted --stage "${GANTRY_LAST_STAGE:-unknown}" --message "$BUILD_URL"'))
  }

  @Test
  void approvalTimeoutAbortsBeforeProduction() {
    approval = 'timeout'
    runJenkinsfile()
    assertNoProduction('ABORTED')
    assertTrue(shellCommands().any { it.startsWith('gantry notify --status aborted') })
  }

  @Test
  void someoneOutsideTheApproversGroupCannotApprove() {
    approvingUser = 'mallory'
    runJenkinsfile()
    assertNoProduction('ABORTED')
  }

  @Test
  void failureNotifiesWithTheFailedStageAndSkipsTheRest() {
    failOn = 'deploy --env staging'
    runJenkinsfile()
    assertEquals('FAILURE', runner.result)
    assertEquals('Deploy staging', env.GANTRY_LAST_STAGE)
    assertTrue(inputs.isEmpty())
    assertNoProduction('FAILURE')
    List<String> commands = shellCommands()
    assertTrue(commands.contains(
      'gantry notify --status failure --stage "${GANTRY_LAST_STAGE:-unknown}" --message "$BUILD_URL"'))
    assertFalse(commands.any { it.startsWith('gantry notify --status success') })
    assertTrue('the run record is archived on failure too', events.contains('archive:run-record.json'))
  }

  @Test
  void productionDeploysRegionByRegionEachUnderItsOwnLock() {
    runJenkinsfile()
    List<String> production = events.findAll { it.startsWith('lock:') || it.startsWith('unlock:') ||
                                                touchesProduction(it) }
    assertEquals([
      'lock:example-production-primary',
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
    runJenkinsfile()
    assertEquals('FAILURE', runner.result)
    assertEquals('Production primary', env.GANTRY_LAST_STAGE)
    assertFalse(shellCommands().any { it.contains('--region secondary') })
    assertTrue(events.contains('unlock:example-production-primary'))
    assertTrue(runner.skipped.containsAll(['Production secondary', 'Verify']))
  }

  @Test
  void secondaryFailureUndoesWhatTheRunChangedThenNotifies() {
    failOn = 'deploy --env production --region secondary'
    runJenkinsfile()
    assertEquals('FAILURE', runner.result)
    List<String> commands = shellCommands()
    int undo = commands.indexOf(UNDO_RUN)
    assertTrue('the primary region is rolled back', undo > commands.indexOf('gantry deploy --env production --region primary'))
    assertTrue('before the failure notice', undo < commands.findIndexOf { it.startsWith('gantry notify --status failure') })
  }

  @Test
  void requestedShaIsCheckedOutBeforeGantrySource() {
    params.SHA = '0123456789abcdef0123456789abcdef01234567'
    runJenkinsfile()
    List<String> commands = shellCommands()
    assertEquals(['git checkout --detach "$SHA"', 'gantry source'], commands.take(2))
  }
}
