from enum import StrEnum

class EstimateBasis(StrEnum):
    FALLBACK = "fallback"
    NO_LLM = "no_llm"
    PRICE_TABLE = "price_table"
    SOURCE = "source"
    TENANT = "tenant"

    def __str__(self) -> str:
        return str(self.value)
