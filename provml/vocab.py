"""IRIs of the vocabularies provml writes: PROV-ML (``provml:``), PROV-O, ML Schema and friends.

Each vocabulary is a class of plain ``str`` constants, so that mapping code stays free of any
RDF library. A test checks that every ``PROVML`` term used here is declared in
``ontology/provml.ttl`` with a label and a comment.

>>> PROVML.TrainingExecution
'https://w3id.org/provml#TrainingExecution'
"""

from __future__ import annotations

PROVML_NS = "https://w3id.org/provml#"
PROV_NS = "http://www.w3.org/ns/prov#"
MLS_NS = "http://www.w3.org/ns/mls#"
RDF_NS = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS_NS = "http://www.w3.org/2000/01/rdf-schema#"
XSD_NS = "http://www.w3.org/2001/XMLSchema#"
OWL_NS = "http://www.w3.org/2002/07/owl#"

PREFIXES: dict[str, str] = {
    "provml": PROVML_NS,
    "prov": PROV_NS,
    "mls": MLS_NS,
    "rdf": RDF_NS,
    "rdfs": RDFS_NS,
    "xsd": XSD_NS,
    "owl": OWL_NS,
}


def compact(iri: str, prefixes: dict[str, str] = PREFIXES) -> str:
    """Return an IRI as ``prefix:local`` when one of ``prefixes`` fits with a plain local name, else ``<iri>``.

    >>> compact("https://w3id.org/provml#Model"), compact("urn:x")
    ('provml:Model', '<urn:x>')
    """
    for prefix, namespace in prefixes.items():
        local = iri.removeprefix(namespace)
        if local != iri and local.replace("_", "a").replace("-", "a").isalnum():
            return f"{prefix}:{local}"
    return f"<{iri}>"


def sparql_prefixes() -> str:
    """Return the ``PREFIX`` lines of every vocabulary provml writes."""
    return "".join(f"PREFIX {name}: <{iri}>\n" for name, iri in PREFIXES.items())


class _Namespace:
    """Base of the vocabulary classes: attribute name = local name."""

    NS: str = ""

    def __init_subclass__(cls) -> None:
        for name in cls.__annotations__:
            setattr(cls, name, cls.NS + name)


class PROVML(_Namespace):
    """Terms of the PROV-ML ontology (``ontology/provml.ttl``)."""

    NS = PROVML_NS
    # prospective: plans
    Workflow: str
    Task: str
    BaseLearningStage: str
    LearningStage: str
    LearningStageSection: str
    Training: str
    Validation: str
    Evaluation: str
    DataCuration: str
    LearningDataPreparation: str
    Deployment: str
    Inference: str
    Algorithm: str
    Implementation: str
    ModelDesign: str
    LearningTask: str
    Hyperparameter: str
    LearningHyperparameter: str
    ModelHyperparameter: str
    EvaluationMeasure: str
    # retrospective: executions
    Study: str
    LearningExperiment: str
    WorkflowExecution: str
    TaskExecution: str
    LearningStageExecution: str
    LearningStageSectionExecution: str
    TrainingExecution: str
    ValidationExecution: str
    EvaluationExecution: str
    DataCurationExecution: str
    LearningDataPreparationExecution: str
    DeploymentExecution: str
    InferenceExecution: str
    # retrospective: data, models, values
    Dataset: str
    RawDataset: str
    DomainDataset: str
    LearningDataset: str
    DatasetCharacteristic: str
    Feature: str
    DataReference: str
    DataValue: str
    Model: str
    HyperparameterSetting: str
    ModelEvaluation: str
    TelemetrySample: str
    CodeVersion: str
    Environment: str
    # agents
    Persona: str
    Software: str
    ComputeNode: str
    GPU: str
    # bookkeeping
    Dump: str
    # object properties
    partOf: str
    executionOf: str
    ranOn: str
    usedGPU: str
    hasHyperparameterSetting: str
    evaluatedModel: str
    lastValue: str
    hasDesign: str
    hasFeature: str
    hasCharacteristic: str
    hasCodeVersion: str
    hasEnvironment: str
    sampledFrom: str
    domainConcept: str
    hasGraph: str
    # datatype properties
    value: str
    step: str
    epoch: str
    status: str
    errorMessage: str
    tag: str
    sourceId: str
    sha256: str
    sizeBytes: str
    location: str
    shape: str
    schema: str
    version: str
    hostname: str
    cpuCount: str
    memoryTotalBytes: str
    cpuPercent: str
    memoryUsedBytes: str
    gpuUtilizationPercent: str
    gpuMemoryUsedBytes: str
    pythonVersion: str
    platform: str
    commandLine: str
    package: str
    randomSeed: str
    commit: str
    repository: str
    branch: str
    dirty: str
    source: str
    loader: str
    tripleCount: str
    loadState: str
    awaitsEntailment: str
    violationCount: str
    warningCount: str
    validationReport: str


class PROV(_Namespace):
    """The PROV-O terms provml writes."""

    NS = PROV_NS
    Activity: str
    Entity: str
    Agent: str
    Person: str
    SoftwareAgent: str
    Plan: str
    Bundle: str
    used: str
    wasGeneratedBy: str
    wasDerivedFrom: str
    wasInformedBy: str
    wasAssociatedWith: str
    wasAttributedTo: str
    startedAtTime: str
    endedAtTime: str
    generatedAtTime: str


class MLS(_Namespace):
    """The ML Schema terms provml writes."""

    NS = MLS_NS
    executes: str
    realizes: str
    achieves: str
    specifiedBy: str
    hasHyperParameter: str
    implements: str


class RDF(_Namespace):
    """RDF terms."""

    NS = RDF_NS
    type: str


class RDFS(_Namespace):
    """RDF Schema terms."""

    NS = RDFS_NS
    label: str
    comment: str
    subClassOf: str


class OWL(_Namespace):
    """OWL terms."""

    NS = OWL_NS
    Ontology: str
    imports: str
    versionIRI: str


class XSD(_Namespace):
    """XML Schema datatypes."""

    NS = XSD_NS
    string: str
    integer: str
    decimal: str
    double: str
    boolean: str
    dateTime: str
    anyURI: str
