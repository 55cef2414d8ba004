package gantry

import static org.junit.Assert.assertEquals
import static org.junit.Assert.assertFalse
import static org.junit.Assert.assertTrue

import org.junit.Assume
import org.junit.Before
import org.junit.Test

/**
 * The ansible-maintenance job's inline pipeline, as Jenkins Job Builder renders it from jenkins/jobs/maintenance.yaml.
 * tests/jenkins/test_pipeline_unit.py renders the jobs and passes the script as -Dmaintenance.pipeline=FILE.
 */
class MaintenancePipelineTest extends PipelineHarness {
  static final String SHA = '0123456789abcdef0123456789abcdef01234567'
  static final String APPROVERS = 'alice@example.com,bob@example.com'
  static final String SIGNED = '{"signature":"-----BEGIN SSH SIGNATURE-----\\nU1NIU0lH\\n' +
                               '-----END SSH SIGNATURE-----\\n","statement":"{\\"approver\\":\\"bob@example.com\\"}"}'
  static final String IMPORT = 'gantry maintenance approve --env production --import maintenance-approval.json' +
    ' --submitter "$APPROVER" --playbook "$PLAYBOOK" --limit "$LIMIT" --sha "$MAINTENANCE_SHA"'
  static final String CHECK = 'gantry maintenance check --env production --submitter "$APPROVER"' +
    ' --playbook "$PLAYBOOK" --limit "$LIMIT" --sha "$(git rev-parse HEAD)"'

  @Override
  File pipelineFile() {
    return new File(System.getProperty('maintenance.pipeline'))
  }

  @Before
  void prepare() {
    Assume.assumeTrue('no -Dmaintenance.pipeline=FILE (tests/jenkins/test_pipeline_unit.py renders the job, passes it)',
                      System.getProperty('maintenance.pipeline') != null)
    setUp()
    params.putAll(TARGET_ENV: 'production', PLAYBOOK: 'patch.yml', LIMIT: 'web:&eu', CHECK_MODE: false)
    outputs.putAll(['gantry approvers --env production': APPROVERS, 'git rev-parse HEAD': SHA])
    pasted.SIGNED_APPROVAL = SIGNED
  }

  boolean runsThePlaybook(String event) {
    return event.startsWith('sh:') && event.contains('ansible-playbook')
  }

  void assertPlaybookNeverRan(String expectedResult) {
    assertEquals(expectedResult, runner.result)
    assertEquals([], events.findAll { runsThePlaybook(it) })
    assertFalse(runner.executed.contains('Playbook'))
  }

  @Test
  void aProductionRunNeedsTheSignedApprovalOfTheApproverWhoClicked() {
    approvingUser = 'bob@example.com'
    runPipeline()
    assertEquals('SUCCESS', runner.result)
    assertEquals(['Checkout', 'Approval', 'Playbook'], runner.executed)
    assertEquals(['milestone:10', 'sh:gantry approvers --env production', 'sh:git rev-parse HEAD', 'input',
                  'writeFile:maintenance-approval.json', 'milestone:20', "sh:${IMPORT}".toString()],
                 stageEvents('Approval'))
    Map input = inputs[0]
    assertEquals(APPROVERS, input.submitter)
    assertEquals('APPROVER', input.submitterParameter)
    assertEquals([time: 60, unit: 'MINUTES'], input.timeout)
    assertEquals(['SIGNED_APPROVAL'], (input.parameters as List<Map>)*.name)
    String message = input.message as String
    assertTrue(message, message.contains("--playbook patch.yml --limit 'web:&eu' --sha ${SHA}"))
    assertEquals(['maintenance-approval.json': SIGNED], files)
    assertEquals('gantry maintenance approve --env production --import maintenance-approval.json' +
                 ' --submitter "bob@example.com" --playbook "patch.yml" --limit "web:&eu" --sha "' + SHA + '"',
                 shellOnly(IMPORT).expanded)
  }

  @Test
  void theApprovalIsCheckedAgainRightBeforeThePlaybookChangesHosts() {
    runPipeline()
    List<String> playbook = stageEvents('Playbook')
    assertEquals(3, playbook.size())
    assertEquals(["sh:${CHECK}".toString(), 'dir:ansible'], playbook.take(2))
    assertTrue(playbook[2], runsThePlaybook(playbook[2]))
    Map check = shellOnly(CHECK)
    assertEquals('.', check.dir)  // the workspace root, where GANTRY_CONFIG and the checkout are
    Map ansible = shells.find { (it.command as String).contains('ansible-playbook') }
    assertEquals('ansible', ansible.dir)
    String playbookRun = ansible.command as String
    assertTrue(playbookRun, playbookRun.contains('-e "target=env_$TARGET_ENV" --limit "$LIMIT"'))
    assertEquals('environments/example/aws.yaml', env.GANTRY_CONFIG)
    // Hosts change from the release agents only, with the release credentials the whole build holds.
    assertEquals(['gantry-release'], shells*.agent.unique())
    assertEquals('/run/credentials/example-gantry-release', env.AWS_SHARED_CREDENTIALS_FILE)
  }

  @Test
  void aRefusedImportStopsBeforeThePlaybook() {
    failOn = 'maintenance approve'
    runPipeline()
    assertPlaybookNeverRan('FAILURE')
    assertTrue(shellCommands().contains('gantry notify --identity production --status failure --stage ansible-maintenance'))
  }

  @Test
  void aFailedCheckStopsThePlaybook() {
    failOn = 'maintenance check'
    runPipeline()
    assertEquals('FAILURE', runner.result)
    assertEquals([], events.findAll { runsThePlaybook(it) })
    assertFalse(events.contains('dir:ansible'))
  }

  void assertAbortedWithoutMaintenance() {
    assertPlaybookNeverRan('ABORTED')
    assertFalse(shellCommands().any { it.startsWith('gantry maintenance') })
    assertTrue(shellCommands().contains('gantry notify --identity production --status aborted --stage ansible-maintenance'))
  }

  @Test
  void aRejectedApprovalNeverRunsThePlaybook() {
    answer = 'reject'
    runPipeline()
    assertAbortedWithoutMaintenance()
  }

  @Test
  void anApprovalTimeoutNeverRunsThePlaybook() {
    answer = 'timeout'
    runPipeline()
    assertAbortedWithoutMaintenance()
  }

  @Test
  void someoneOutsideTheApproversCannotApprove() {
    approvingUser = 'mallory@example.com'  // may start builds (Job/Build), is not in the list
    runPipeline()
    assertPlaybookNeverRan('ABORTED')
  }

  void assertRanWithoutApproval() {
    assertEquals('SUCCESS', runner.result)
    assertEquals(['Checkout', 'Playbook'], runner.executed)
    assertEquals(['Approval'], runner.skipped)
    assertEquals([], inputs)
    assertFalse(shellCommands().any { it.startsWith('gantry maintenance') || it.startsWith('gantry approvers') })
    assertEquals(1, events.findAll { runsThePlaybook(it) }.size())
  }

  @Test
  void stagingRunsNeedNoApproval() {
    params.TARGET_ENV = 'staging'
    runPipeline()
    assertRanWithoutApproval()
  }

  @Test
  void productionCheckRunsNeedNoApproval() {
    params.CHECK_MODE = true
    runPipeline()
    assertRanWithoutApproval()
  }
}
