// SPDX-License-Identifier: MIT
pragma solidity ^0.8.10;

/// Chainlink-style aggregator whose answer is moved by a transaction, so that a devnet price change is a
/// real pending transaction with a real AnswerUpdated event, as it would be on a live network.
contract SettableAggregator {
  event AnswerUpdated(int256 indexed current, uint256 indexed roundId, uint256 updatedAt);
  event NewRound(uint256 indexed roundId, address indexed startedBy, uint256 startedAt);

  address public immutable owner;
  uint8 public immutable decimals;
  string public description;
  int256 public latestAnswer;
  uint256 public latestTimestamp;
  uint256 public latestRound;

  constructor(int256 initialAnswer, uint8 decimals_, string memory description_) {
    owner = msg.sender;
    decimals = decimals_;
    description = description_;
    _set(initialAnswer);
  }

  function setAnswer(int256 answer) external {
    require(msg.sender == owner, 'only owner');
    _set(answer);
  }

  function latestRoundData() external view returns (uint80, int256, uint256, uint256, uint80) {
    return (uint80(latestRound), latestAnswer, latestTimestamp, latestTimestamp, uint80(latestRound));
  }

  function _set(int256 answer) internal {
    require(answer > 0, 'answer must be positive');
    latestAnswer = answer;
    latestTimestamp = block.timestamp;
    latestRound += 1;
    emit AnswerUpdated(answer, latestRound, block.timestamp);
    emit NewRound(latestRound, msg.sender, block.timestamp);
  }
}

/// Batches read-only calls into one eth_call. Same interface as the widely deployed Multicall3
/// aggregate3, so viem's multicall can target it on a devnet that has none.
contract BatchReader {
  struct Call3 {
    address target;
    bool allowFailure;
    bytes callData;
  }

  struct Result {
    bool success;
    bytes returnData;
  }

  function aggregate3(Call3[] calldata calls) external payable returns (Result[] memory results) {
    results = new Result[](calls.length);
    for (uint256 i = 0; i < calls.length; i++) {
      (bool ok, bytes memory data) = calls[i].target.call(calls[i].callData);
      require(ok || calls[i].allowFailure, 'call failed');
      results[i] = Result(ok, data);
    }
  }

  function getBlockNumber() external view returns (uint256) {
    return block.number;
  }
}

/// A PoolAddressesProvider and Pool in one that reports any POOL_REVISION and nothing else: lets
/// tests check that a Pool of an unknown version (or one whose interface does not match its
/// revision) is refused rather than mirrored with the wrong rules.
contract RevisionProbe {
  uint256 public immutable POOL_REVISION;

  constructor(uint256 revision) {
    POOL_REVISION = revision;
  }

  function getPool() external view returns (address) {
    return address(this);
  }

  function getPriceOracle() external view returns (address) {
    return address(this);
  }

  function getPoolConfigurator() external view returns (address) {
    return address(this);
  }

  function getReservesList() external pure returns (address[] memory list) {
    return list;
  }
}
