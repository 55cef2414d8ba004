package gantry

/*
 * A small model of declarative-pipeline semantics for JenkinsPipelineUnit 1.1, which has none.
 *
 * What it models: top-level agent/options/parameters/environment, sequential stages (nested `stages` too),
 * stage-level `agent { label '...' }` (the stage and its children run on that label; `agent none` at the top
 * runs nothing on any agent), `when { expression {...} }`, `steps`, and `post` conditions (pipeline-level, and
 * stage-level after the stage's children) run in Jenkins' order with the build result.
 * An AbortedException stands for Jenkins' FlowInterruptedException (input rejected, timeout expired) and
 * makes the build ABORTED; any other exception makes it FAILURE. Once a stage fails, later stages are skipped.
 * STAGE_NAME exists only inside a stage (the stage step adds it to its body's environment), so a pipeline-level
 * `post` sees none, as in Jenkins.
 * Anything else a Jenkinsfile uses throws UnsupportedOperationException, so a test can never pass because
 * a directive was silently ignored.
 */

/** Stand-in for org.jenkinsci.plugins.workflow.steps.FlowInterruptedException. */
class AbortedException extends RuntimeException {
  AbortedException(String message) { super(message) }
}

/**
 * Like Jenkins' env global (EnvActionImpl.setProperty): values are stored with String.valueOf, so assigning
 * null stores the string 'null', exactly what a shell step then sees.
 */
class EnvMap extends LinkedHashMap<String, Object> {
  @Override
  Object put(String key, Object value) { return super.put(key, String.valueOf(value)) }
}

class StageModel {
  String name
  List<Closure> conditions = []
  Closure steps
  List<StageModel> children = []
  String agent  // the label this stage (and its children) runs on; null: its parent's
  Map<String, Closure> post = [:]
}

/** Collects calls in option-like sections (options, agent, parameters) as [name: ..., args: [...]]. */
class CallCollector {
  List<Map> calls = []

  def methodMissing(String name, Object args) {
    Map call = [name: name, args: (args as List)]
    calls << call
    return call
  }

  static List<Map> collect(Closure body) {
    CallCollector collector = new CallCollector()
    body.delegate = collector
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    return collector.calls
  }
}

class EnvironmentSection {
  Map<String, Object> values = [:]

  void propertyMissing(String name, Object value) { values[name] = value }

  // credentials('id') of a secret-file credential binds the file's path for the whole build (the credentials
  // binding Jenkins does for an environment block); the harness's withCredentials uses the same path.
  String credentials(String id) { return "/run/credentials/${id}".toString() }
}

class WhenSection {
  List<Closure> conditions = []

  void expression(Closure condition) { conditions << condition }

  def methodMissing(String name, Object args) {
    throw new UnsupportedOperationException("the declarative model does not support when { ${name} }")
  }
}

class StagesSection {
  List<StageModel> stages = []

  void stage(String name, Closure body) {
    StageSection section = new StageSection(model: new StageModel(name: name))
    body.delegate = section
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    stages << section.model
  }

  static List<StageModel> parse(Closure body) {
    StagesSection section = new StagesSection()
    body.delegate = section
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    return section.stages
  }
}

class StageSection {
  StageModel model

  void when(Closure body) {
    WhenSection section = new WhenSection()
    body.delegate = section
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    model.conditions.addAll(section.conditions)
  }

  void steps(Closure body) { model.steps = body }

  void stages(Closure body) { model.children = StagesSection.parse(body) }

  void agent(Closure body) {
    List<Map> calls = CallCollector.collect(body)
    if (calls.size() != 1 || calls[0].name != 'label') {
      throw new UnsupportedOperationException("the declarative model supports stage-level agent { label '...' } only")
    }
    model.agent = calls[0].args[0] as String
  }

  void post(Closure body) {
    PostSection section = new PostSection()
    body.delegate = section
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    model.post = section.conditions
  }

  def methodMissing(String name, Object args) {
    throw new UnsupportedOperationException("the declarative model does not support stage-level ${name}")
  }
}

class PostSection {
  Map<String, Closure> conditions = [:]

  def methodMissing(String name, Object args) {
    conditions[name] = (args as List)[0] as Closure
    return null
  }
}

class PipelineSection {
  // `agent none`: the Groovy reads `agent(none)`, so `none` is a value here.
  static final String NONE = 'none'
  List<Map> agent = []
  List<Map> options = []
  List<Map> parameters = []
  Map<String, Object> environment = [:]
  List<StageModel> stages = []
  Map<String, Closure> post = [:]

  void agent(Closure body) { agent = CallCollector.collect(body) }

  void agent(String none) {
    if (none != NONE) {
      throw new UnsupportedOperationException("the declarative model does not support agent ${none}")
    }
    agent = [[name: NONE, args: []]]
  }

  String getNone() { return NONE }

  void options(Closure body) { options = CallCollector.collect(body) }

  void parameters(Closure body) { parameters = CallCollector.collect(body) }

  void environment(Closure body) {
    EnvironmentSection section = new EnvironmentSection()
    body.delegate = section
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    environment = section.values
  }

  void stages(Closure body) { stages = StagesSection.parse(body) }

  void post(Closure body) {
    PostSection section = new PostSection()
    body.delegate = section
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    post = section.conditions
  }

  def methodMissing(String name, Object args) {
    throw new UnsupportedOperationException("the declarative model does not support pipeline-level ${name}")
  }
}

/** Runs a parsed pipeline against the loaded Jenkinsfile script, whose steps JenkinsPipelineUnit mocks. */
class DeclarativeRunner {
  // Jenkins runs post conditions in this order (pipeline-model-definition's BuildCondition ordering).
  static final List<String> POST_ORDER = ['always', 'changed', 'fixed', 'regression', 'aborted', 'failure',
                                          'success', 'unstable', 'unsuccessful', 'cleanup']

  Script script
  PipelineSection pipeline = new PipelineSection()
  List<String> executed = []
  List<String> skipped = []
  String result = 'SUCCESS'
  Throwable error
  // The agent labels in force, innermost last (stage-level agents and node steps push; none: no agent at all).
  List<String> agents = []

  String currentAgent() {
    if (agents) {
      return agents.last()
    }
    boolean none = pipeline.agent.any { it.name == PipelineSection.NONE }
    return none || !pipeline.agent ? null : (pipeline.agent[0].args[0] as String)
  }

  void run(Closure body) {
    body.delegate = pipeline
    body.resolveStrategy = Closure.DELEGATE_FIRST
    body.call()
    Map env = script.binding.getVariable('env') as Map
    pipeline.environment.each { key, value -> env[key] = value.toString() }
    pipeline.stages.each { runStage(it, env) }
    (script.binding.getVariable('currentBuild') as Map).result = result
    runPost()
  }

  private void runStage(StageModel stage, Map env) {
    if (error != null) {
      skipped << stage.name
      stage.children.each { runStage(it, env) }
      return
    }
    boolean outer = env.containsKey('STAGE_NAME')
    Object outerName = env.STAGE_NAME
    env.STAGE_NAME = stage.name
    try {
      runStageBody(stage, env)
    } finally {
      if (outer) {
        env.STAGE_NAME = outerName
      } else {
        env.remove('STAGE_NAME')
      }
    }
  }

  private void runStageBody(StageModel stage, Map env) {
    if (!stage.conditions.every { it.call() }) {
      skipped << stage.name
      return
    }
    executed << stage.name
    if (stage.agent != null) {
      agents << stage.agent
    }
    try {
      Throwable before = error
      if (stage.children) {
        stage.children.each { runStage(it, env) }
      } else {
        guarded(stage.steps)
      }
      runStagePost(stage, before == null && error != null)
    } finally {
      if (stage.agent != null) {
        agents.remove(agents.size() - 1)
      }
    }
  }

  private void guarded(Closure body) {
    body.delegate = script
    body.resolveStrategy = Closure.DELEGATE_FIRST
    try {
      body.call()
    } catch (AbortedException e) {
      result = 'ABORTED'
      error = e
    } catch (Exception e) {
      result = 'FAILURE'
      error = e
    }
  }

  /** A stage's own post conditions, on its agent, after its children: `failed` when the stage itself failed. */
  private void runStagePost(StageModel stage, boolean failed) {
    Map<String, Boolean> applies = [always: true, success: !failed, failure: failed, unsuccessful: failed,
                                    cleanup: true]
    POST_ORDER.each { String condition ->
      Closure body = stage.post[condition]
      if (body == null) {
        return
      }
      if (!applies.containsKey(condition)) {
        throw new UnsupportedOperationException("the declarative model does not support stage post { ${condition} }")
      }
      if (applies[condition]) {
        body.delegate = script
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.call()
      }
    }
  }

  private void runPost() {
    Map<String, Boolean> applies = [
      always: true, aborted: result == 'ABORTED', failure: result == 'FAILURE', success: result == 'SUCCESS',
      unsuccessful: result != 'SUCCESS', cleanup: true,
    ]
    POST_ORDER.each { String condition ->
      Closure body = pipeline.post[condition]
      if (body == null) {
        return
      }
      if (!applies.containsKey(condition)) {
        throw new UnsupportedOperationException("the declarative model does not support post { ${condition} }")
      }
      if (applies[condition]) {
        body.delegate = script
        body.resolveStrategy = Closure.DELEGATE_FIRST
        body.call()
      }
    }
  }
}
